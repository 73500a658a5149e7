//! `--config FILE` (or `PISHKHAN_CONFIG`): a TOML file of settings whose keys are the long
//! flags of `pishkhan serve` and `pishkhan demo` and the global flags (`listen = "…"`,
//! `database-url = "…"`, `metrics-token = "…"`).
//!
//! Precedence, lowest first: the built-in defaults, the file, the environment
//! (`PISHKHAN_…`), the flags. The file's values become the flags' defaults before clap
//! parses, and clap already prefers a flag to its environment variable and that to the
//! default. Those defaults are hidden from `--help`, so a secret in the file (the metrics
//! token, a database password) is never printed; nor is any value in an error here.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Command;

/// Longest configuration file read; a real one is a few hundred bytes.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The subcommands whose flags a file may set, beside the global ones.
const CONFIGURABLE: &[&str] = &["serve", "demo"];

/// Flags no file sets: the file itself, and what only a person at a terminal asks for.
const NOT_FROM_A_FILE: &[&str] = &["config", "help", "version"];

/// The file named by `--config FILE` or `--config=FILE` in `args` (program name first), else
/// by `PISHKHAN_CONFIG`. Read before clap parses, since the file changes what it parses.
pub fn path_in(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("PISHKHAN_CONFIG")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// `cmd` with the file at `path` applied as the defaults of the flags it names.
pub fn apply(cmd: Command, path: &Path) -> anyhow::Result<Command> {
    let text = read(path)?;
    let settings =
        parse(&text, &known_keys(&cmd)).with_context(|| format!("config {}", path.display()))?;
    Ok(with_defaults(cmd, &settings))
}

fn read(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read the config {}", path.display()))?;
    let mut text = String::new();
    use std::io::Read;
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the config {} as UTF-8", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        bail!(
            "the config {} is larger than {MAX_CONFIG_BYTES} bytes",
            path.display()
        );
    }
    Ok(text)
}

/// Every long flag a file may set.
fn known_keys(cmd: &Command) -> Vec<String> {
    let mut keys: Vec<String> = cmd
        .get_arguments()
        .chain(
            cmd.get_subcommands()
                .filter(|s| CONFIGURABLE.contains(&s.get_name()))
                .flat_map(Command::get_arguments),
        )
        .filter_map(|a| a.get_long())
        .filter(|long| !NOT_FROM_A_FILE.contains(long))
        .map(str::to_string)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The file's settings as flag values, checked against `known`. An error names the key and
/// its line, never its value.
fn parse(text: &str, known: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let line_of = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
    // The parser's own message quotes the line, which may hold a secret: only where, and why.
    let table: BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| match e.span() {
            Some(at) => anyhow::anyhow!(
                "line {}: not TOML: {}",
                line_of(at.start),
                e.message().trim_end()
            ),
            None => anyhow::anyhow!("not TOML: {}", e.message().trim_end()),
        })?;
    let mut settings = BTreeMap::new();
    for (key, value) in table {
        let line = line_of(key.span().start);
        let key = key.into_inner();
        if !known.contains(&key) {
            bail!(
                "line {line}: unknown key `{key}`; the keys are the long flags: {}",
                known.join(", ")
            );
        }
        let value = match value.into_inner() {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => bail!("line {line}: `{key}` takes a string, a whole number, true or false"),
        };
        settings.insert(key, value);
    }
    Ok(settings)
}

/// Makes each setting the default of its flag, wherever the flag is (the globals and the
/// configurable subcommands), with the default hidden from `--help`.
fn with_defaults(mut cmd: Command, settings: &BTreeMap<String, String>) -> Command {
    cmd = set_defaults(cmd, settings);
    for name in CONFIGURABLE {
        if cmd.find_subcommand(name).is_some() {
            cmd = cmd.mut_subcommand(name, |sub| set_defaults(sub, settings));
        }
    }
    cmd
}

fn set_defaults(mut cmd: Command, settings: &BTreeMap<String, String>) -> Command {
    let ids: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let value = settings.get(a.get_long()?)?;
            Some((a.get_id().to_string(), value.clone()))
        })
        .collect();
    for (id, value) in ids {
        cmd = cmd.mut_arg(id, |a| a.default_value(value).hide_default_value(true));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        [
            "listen",
            "metrics-token",
            "cookie-secure",
            "payment-verify-window-s",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn values_of_each_kind_become_flag_values() {
        let got = parse(
            "listen = \"0.0.0.0:8080\"\ncookie-secure = true\npayment-verify-window-s = 900\n",
            &known(),
        )
        .unwrap();
        assert_eq!(got["listen"], "0.0.0.0:8080");
        assert_eq!(got["cookie-secure"], "true");
        assert_eq!(got["payment-verify-window-s"], "900");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line_and_without_any_value() {
        let err = parse(
            "listen = \"0.0.0.0:8080\"\n\nmetrics_token = \"s3cret-s3cret-s3cret\"\n",
            &known(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("`metrics_token`"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_malformed_line_is_named_without_its_text() {
        let err = parse(
            "listen = \"0.0.0.0:8080\"\nmetrics-token = s3cret-s3cret-s3cret\n",
            &known(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_table_or_a_list_is_refused() {
        let err = parse("listen = [\"a\"]\n", &known())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("`listen`"), "{err}");
    }

    #[test]
    fn the_path_comes_from_the_flag_wherever_it_stands() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            path_in(&args(&["pishkhan", "--config", "a.toml", "serve"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            path_in(&args(&["pishkhan", "serve", "--config=b.toml"])),
            Some(PathBuf::from("b.toml"))
        );
    }
}
