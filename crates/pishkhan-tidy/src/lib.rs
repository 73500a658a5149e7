//! Checks that keep `ARCHITECTURE.md` true, in the manner of rust-analyzer's `tidy`:
//!
//! - [`check_layering`]: every workspace crate depends only on the crates the document's
//!   layering table allows (read from `cargo metadata`), and never on a forbidden outside
//!   crate (the application layer links no HTTP or template crate).
//! - [`check_adapters`]: the web crate's two adapters, `api/` and `ui/`, never import each
//!   other, and no crate but the web crate names `ApiError`.
//! - [`check_doc_paths`]: every repository path the document names exists.
//!
//! Each check returns the violations it found, so a test can show both that the repository
//! is clean and that a deliberate violation is caught.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// One broken rule, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.rule, self.detail)
    }
}

/// What one crate may depend on, from the document's layering table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Workspace crates it may use (normal and build dependencies).
    pub workspace: BTreeSet<String>,
    /// Outside crates it must not use.
    pub forbidden_outside: BTreeSet<String>,
}

/// Reads the layering table: the rows of the first Markdown table under a heading that
/// contains "Layering", each `| crate | may depend on | must not use |`, with crate names in
/// backticks. "—" or an empty cell means none.
pub fn layering_from_doc(doc: &str) -> Result<BTreeMap<String, Allowed>, String> {
    let mut in_section = false;
    let mut rows = BTreeMap::new();
    let mut seen_table = false;
    for line in doc.lines() {
        if line.starts_with('#') {
            if seen_table {
                break;
            }
            in_section = line.contains("Layering");
            continue;
        }
        if !in_section {
            continue;
        }
        let trimmed = line.trim();
        if !trimmed.starts_with('|') {
            if seen_table {
                break;
            }
            continue;
        }
        seen_table = true;
        let cells: Vec<&str> = trimmed
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let Some(name) = cells.first().map(|c| backticked(c)) else {
            continue;
        };
        // The header and the separator row name no crate in backticks.
        let Some(name) = name.into_iter().next() else {
            continue;
        };
        let allowed = Allowed {
            workspace: cells
                .get(1)
                .map(|c| backticked(c).into_iter().collect())
                .unwrap_or_default(),
            forbidden_outside: cells
                .get(2)
                .map(|c| backticked(c).into_iter().collect())
                .unwrap_or_default(),
        };
        if rows.insert(name.clone(), allowed).is_some() {
            return Err(format!("the layering table lists {name} twice"));
        }
    }
    if rows.is_empty() {
        return Err("no layering table found under a \"Layering\" heading".into());
    }
    Ok(rows)
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks `cargo metadata --format-version 1` output against the layering. Every workspace
/// crate must have a row; its normal and build dependencies on workspace crates must be
/// allowed; it must use none of its forbidden outside crates. Dev-dependencies are free:
/// tests may use fixtures (the test kit, the demo nation) that the library must not.
pub fn check_layering(metadata: &str, layering: &BTreeMap<String, Allowed>) -> Vec<Violation> {
    let mut out = Vec::new();
    let meta: serde_json::Value = match serde_json::from_str(metadata) {
        Ok(v) => v,
        Err(e) => {
            return vec![Violation {
                rule: "layering",
                detail: format!("cargo metadata is not JSON: {e}"),
            }];
        }
    };
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        let Some(allowed) = layering.get(name) else {
            out.push(Violation {
                rule: "layering",
                detail: format!("crate {name} has no row in ARCHITECTURE.md's layering table"),
            });
            continue;
        };
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let Some(dep_name) = dep["name"].as_str() else {
                continue;
            };
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            if members.contains(dep_name) {
                if !allowed.workspace.contains(dep_name) {
                    out.push(Violation {
                        rule: "layering",
                        detail: format!(
                            "{name} depends on {dep_name}, which the layering table does not allow"
                        ),
                    });
                }
            } else if allowed.forbidden_outside.contains(dep_name) {
                out.push(Violation {
                    rule: "layering",
                    detail: format!("{name} depends on {dep_name}, which it must not use"),
                });
            }
        }
    }
    for name in layering.keys() {
        if !members.contains(name) {
            out.push(Violation {
                rule: "layering",
                detail: format!("the layering table names {name}, which is no workspace crate"),
            });
        }
    }
    out
}

/// Checks the web crate's adapters: nothing under `src/api/` imports `crate::ui`, nothing
/// under `src/ui/` imports `crate::api`, and no other crate's source names `ApiError`.
pub fn check_adapters(workspace_root: &Path) -> Vec<Violation> {
    let mut out = Vec::new();
    let web = workspace_root.join("crates/pishkhan-web/src");
    for (dir, other) in [("api", "ui"), ("ui", "api")] {
        for file in rust_files(&web.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains(&format!("crate::{other}::"))
                    || code.contains(&format!("crate::{other}::{{"))
                    || code.contains(&format!("super::super::{other}"))
                    || code
                        .trim_start()
                        .starts_with(&format!("use crate::{other};"))
                {
                    out.push(Violation {
                        rule: "adapters",
                        detail: format!(
                            "{}:{}: the {dir} adapter imports the {other} adapter",
                            relative(workspace_root, &file),
                            n + 1
                        ),
                    });
                }
            }
        }
    }
    for crate_dir in subdirs(&workspace_root.join("crates")) {
        if crate_dir.ends_with("pishkhan-web") || crate_dir.ends_with("pishkhan-tidy") {
            continue;
        }
        for file in rust_files(&crate_dir.join("src")) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if let Some(n) = text.lines().position(|l| l.contains("ApiError")) {
                out.push(Violation {
                    rule: "adapters",
                    detail: format!(
                        "{}:{}: ApiError outside the web crate",
                        relative(workspace_root, &file),
                        n + 1
                    ),
                });
            }
        }
    }
    out
}

/// Checks that every repository path the document names (in backticks, starting with a
/// top-level folder of the repository, or a root file) exists.
pub fn check_doc_paths(doc: &str, workspace_root: &Path) -> Vec<Violation> {
    const ROOTS: [&str; 6] = [
        "crates/",
        "docs/",
        "scripts/",
        ".ci/",
        "web-assets/",
        "xtask/",
    ];
    let mut out = Vec::new();
    for (n, line) in doc.lines().enumerate() {
        for span in backticked(line) {
            let path = span.trim_end_matches('/');
            let looks_like_path = ROOTS.iter().any(|r| span.starts_with(r))
                && !span.contains(' ')
                && !span.contains('*')
                && !span.contains('{');
            if looks_like_path && !workspace_root.join(path).exists() {
                out.push(Violation {
                    rule: "doc-paths",
                    detail: format!("ARCHITECTURE.md:{}: `{span}` does not exist", n + 1),
                });
            }
        }
    }
    out
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}
