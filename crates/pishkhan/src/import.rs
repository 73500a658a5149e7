//! `pishkhan import offices|services FILE`: CSV or JSON, validated whole before anything is
//! written, then stored in one transaction. A bad row is reported with its line number and
//! reason, and the database is left as it was.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::input::{OfficeDefaults, OfficeInput, ServiceInput};
use pishkhan_domain::model::FieldError;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::StoreError;
use serde::de::DeserializeOwned;

use crate::Global;
use crate::run::{open_store, system_ctx};

/// Files larger than this are refused before parsing.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Rows accepted in one import.
const MAX_ROWS: usize = 200_000;
/// Errors printed before the rest are summarised.
const MAX_REPORTED_ERRORS: usize = 50;

#[derive(Args)]
pub struct ImportArgs {
    /// The CSV (with a header row) or JSON (an array of objects) file.
    pub file: PathBuf,
    /// Input format; by default taken from the file extension.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// A parsed row and the line it started on.
struct Row<T> {
    line: usize,
    value: T,
}

struct RowError {
    line: usize,
    message: String,
}

fn format_of(args: &ImportArgs) -> anyhow::Result<Format> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    match args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        _ => bail!(
            "cannot tell the format of {}; use --format csv|json",
            args.file.display()
        ),
    }
}

fn read_file(args: &ImportArgs) -> anyhow::Result<String> {
    let meta = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{} is larger than {} MiB",
            args.file.display(),
            MAX_FILE_BYTES / 1024 / 1024
        );
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let text = String::from_utf8(bytes).context("the file is not UTF-8 text")?;
    Ok(text.trim_start_matches('\u{feff}').to_string())
}

fn parse_rows<T: DeserializeOwned>(
    text: &str,
    format: Format,
) -> Result<Vec<Row<T>>, Vec<RowError>> {
    match format {
        Format::Csv => parse_csv(text),
        Format::Json => parse_json(text),
    }
}

fn parse_csv<T: DeserializeOwned>(text: &str) -> Result<Vec<Row<T>>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![RowError {
                line: 1,
                message: format!("bad header row: {e}"),
            }]);
        }
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        match record {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line() as usize);
                // Empty cells mean "not given", like absent JSON fields.
                let map: serde_json::Map<String, serde_json::Value> = headers
                    .iter()
                    .zip(rec.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                    .collect();
                match serde_json::from_value::<T>(serde_json::Value::Object(map)) {
                    Ok(value) => rows.push(Row { line, value }),
                    Err(e) => errors.push(RowError {
                        line,
                        message: e.to_string(),
                    }),
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(RowError {
                    line,
                    message: e.to_string(),
                });
            }
        }
        if rows.len() + errors.len() > MAX_ROWS {
            return Err(vec![RowError {
                line: 0,
                message: format!("more than {MAX_ROWS} rows"),
            }]);
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Lines on which each top-level element of a JSON array starts.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth, mut in_str, mut escaped, mut expect_value) =
        (1usize, 0usize, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expect_value && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expect_value = false;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect_value = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect_value = true,
            _ => {}
        }
    }
    lines
}

fn parse_json<T: DeserializeOwned>(text: &str) -> Result<Vec<Row<T>>, Vec<RowError>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        vec![RowError {
            line: e.line(),
            message: format!("not a JSON array of objects: {e}"),
        }]
    })?;
    if values.len() > MAX_ROWS {
        return Err(vec![RowError {
            line: 0,
            message: format!("more than {MAX_ROWS} rows"),
        }]);
    }
    let lines = element_lines(text);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        match serde_json::from_value::<T>(v) {
            Ok(value) => rows.push(Row { line, value }),
            Err(e) => errors.push(RowError {
                line,
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn field_error(line: usize, e: FieldError) -> RowError {
    RowError {
        line,
        message: format!("{}: {} ({})", e.field, e.message, e.code),
    }
}

fn report(path: &std::path::Path, errors: &[RowError]) -> anyhow::Error {
    for e in errors.iter().take(MAX_REPORTED_ERRORS) {
        eprintln!("{}:{}: {}", path.display(), e.line, e.message);
    }
    if errors.len() > MAX_REPORTED_ERRORS {
        eprintln!("… and {} more", errors.len() - MAX_REPORTED_ERRORS);
    }
    anyhow::anyhow!("{} bad row(s); nothing was imported", errors.len())
}

/// The `(kind, value)` pairs a store message names, such as `("licence", "KH-10")` in
/// "licence KH-10 is already in use". Values are whole words, so `KH-1` never matches `KH-10`.
fn named_values(message: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = message.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| {
            matches!(
                w[0].trim_start_matches('('),
                "office" | "licence" | "service" | "province" | "agency"
            )
        })
        .map(|w| {
            (
                w[0].trim_start_matches('(').to_string(),
                w[1].trim_end_matches([')', ',', ';', ':']).to_string(),
            )
        })
        .collect()
}

/// Turns a store refusal into row errors when it names values found in the file: every row
/// holding a named value is reported (both rows of a duplicate).
fn store_refusal<T>(
    path: &std::path::Path,
    e: StoreError,
    rows: &[Row<T>],
    keys: impl Fn(&T) -> Vec<(&'static str, String)>,
) -> anyhow::Error {
    let text = e.to_string();
    if matches!(
        e,
        StoreError::Conflict { .. } | StoreError::UnknownReference { .. }
    ) {
        let named = named_values(&text);
        let blamed: Vec<RowError> = rows
            .iter()
            .filter(|r| {
                keys(&r.value)
                    .iter()
                    .any(|(kind, value)| named.iter().any(|(k, v)| k == kind && v == value))
            })
            .map(|r| RowError {
                line: r.line,
                message: text.clone(),
            })
            .collect();
        if blamed.is_empty() {
            return anyhow::anyhow!("{text}; nothing was imported");
        }
        // A clash with stored data is the fault of one row; a duplicate, of all its copies.
        let blamed = if text.contains("appears twice") {
            blamed
        } else {
            blamed.into_iter().take(1).collect()
        };
        return report(path, &blamed);
    }
    anyhow::Error::new(e).context("import failed; nothing was imported")
}

pub async fn offices(global: &Global, args: &ImportArgs) -> anyhow::Result<()> {
    let format = format_of(args)?;
    let text = read_file(args)?;
    let raw: Vec<Row<OfficeInput>> =
        parse_rows(&text, format).map_err(|e| report(&args.file, &e))?;
    let defaults = OfficeDefaults {
        code: None,
        licence_issued: jalali_today(time::OffsetDateTime::now_utc()),
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for r in raw {
        match r.value.parse(&defaults) {
            Ok(o) => rows.push(Row {
                line: r.line,
                value: o,
            }),
            Err(e) => errors.push(field_error(r.line, e)),
        }
    }
    if !errors.is_empty() {
        return Err(report(&args.file, &errors));
    }
    if rows.is_empty() {
        bail!("{} holds no rows", args.file.display());
    }
    let store = open_store(global).await?;
    let permit = authorize(
        &Principal::System { reason: "import" },
        Action::ImportOffices,
    )?;
    let offices: Vec<_> = rows.iter().map(|r| r.value.clone()).collect();
    let n = store
        .import_offices(&permit, &offices, &system_ctx())
        .await
        .map_err(|e| {
            store_refusal(&args.file, e, &rows, |o| {
                vec![
                    ("office", o.code.to_string()),
                    ("licence", o.licence_no.clone()),
                    ("province", o.province_id.to_string()),
                ]
            })
        })?;
    println!("imported {n} offices from {}", args.file.display());
    Ok(())
}

pub async fn services(global: &Global, args: &ImportArgs) -> anyhow::Result<()> {
    let format = format_of(args)?;
    let text = read_file(args)?;
    let raw: Vec<Row<ServiceInput>> =
        parse_rows(&text, format).map_err(|e| report(&args.file, &e))?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for r in raw {
        match r.value.parse() {
            Ok(s) => rows.push(Row {
                line: r.line,
                value: s,
            }),
            Err(e) => errors.push(field_error(r.line, e)),
        }
    }
    if !errors.is_empty() {
        return Err(report(&args.file, &errors));
    }
    if rows.is_empty() {
        bail!("{} holds no rows", args.file.display());
    }
    let store = open_store(global).await?;
    let permit = authorize(
        &Principal::System { reason: "import" },
        Action::ImportServices,
    )?;
    let services: Vec<_> = rows.iter().map(|r| r.value.clone()).collect();
    let n = store
        .import_services(&permit, &services, &system_ctx())
        .await
        .map_err(|e| {
            store_refusal(&args.file, e, &rows, |s| {
                vec![
                    ("service", s.code.to_string()),
                    ("agency", s.agency.to_string()),
                ]
            })
        })?;
    println!("imported {n} services from {}", args.file.display());
    Ok(())
}
