//! A parsed database URL whose password never reaches logs or Debug output.

use std::fmt;

use crate::{Backend, StoreError};

/// `sqlite://PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    backend: Backend,
}

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let s = s.trim();
        let backend = if s.starts_with("sqlite://") || s.starts_with("sqlite:") {
            Backend::Sqlite
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(
                "expected sqlite://PATH or postgres://USER@HOST/DB".to_string(),
            ));
        };
        if backend == Backend::Sqlite && sqlite_path_of(s).is_empty() {
            return Err(StoreError::BadUrl("sqlite URL has no path".to_string()));
        }
        Ok(Self {
            raw: s.to_string(),
            backend,
        })
    }

    /// The embedded store's file inside `dir`.
    pub fn sqlite_in(dir: &std::path::Path) -> Self {
        Self {
            raw: format!("sqlite://{}", dir.join("pishkhan.db").display()),
            backend: Backend::Sqlite,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The full URL, secrets included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// Path of the SQLite file, without scheme or query.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then(|| sqlite_path_of(&self.raw))
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.raw.split_once("://") else {
            return self.raw.clone();
        };
        let (authority, tail) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                let masked = if userinfo.contains(':') {
                    format!("{user}:***")
                } else {
                    user.to_string()
                };
                let tail = redact_query_password(tail);
                format!("{scheme}://{masked}@{host}{tail}")
            }
            None => format!("{scheme}://{authority}{}", redact_query_password(tail)),
        }
    }
}

fn redact_query_password(tail: &str) -> String {
    match tail.split_once('?') {
        Some((path, query)) => {
            let parts: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", parts.join("&"))
        }
        None => tail.to_string(),
    }
}

fn sqlite_path_of(raw: &str) -> &str {
    let rest = raw
        .strip_prefix("sqlite://")
        .or_else(|| raw.strip_prefix("sqlite:"))
        .unwrap_or(raw);
    rest.split('?').next().unwrap_or("")
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
