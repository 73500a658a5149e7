//! A small migration runner over embedded, append-only SQL files.
//!
//! Each backend has its own list. A migration that has landed must never be edited: the runner
//! stores each file's SHA-256 and refuses to start if a recorded one changed.

use sha2::Digest;
use sqlx::{AnyConnection, Connection};

use crate::StoreError;
use crate::sql::now_ms;

pub(crate) struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) async fn run(
    conn: &mut AnyConnection,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            name TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            applied_at_ms BIGINT NOT NULL
        )",
    )
    .execute(&mut *conn)
    .await?;

    for m in migrations {
        let digest = hex::encode(sha2::Sha256::digest(m.sql.as_bytes()));
        let recorded: Option<(String,)> =
            sqlx::query_as("SELECT sha256 FROM schema_migrations WHERE name = $1")
                .bind(m.name)
                .fetch_optional(&mut *conn)
                .await?;
        match recorded {
            Some((sha,)) if sha == digest => continue,
            Some(_) => {
                return Err(StoreError::Migration {
                    name: m.name.to_string(),
                    reason: "an applied migration was edited; migrations are append-only".into(),
                });
            }
            None => {}
        }
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration {
                name: m.name.to_string(),
                reason: e.to_string(),
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (name, sha256, applied_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(m.name)
        .bind(&digest)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(migration = m.name, "applied migration");
    }
    Ok(())
}
