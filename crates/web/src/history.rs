//! Every version of every dashboard file, in the project's state database,
//! without a cap: what the app saved (with who saved it) and what changed on
//! disk (a hand edit, a `git pull`), so a chart's SQL can be compared with any
//! earlier one and restored.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::accounts::now_seconds;
use crate::error::WebError;

/// Who a version is by when it came from the file, not the app.
pub const FROM_FILE: &str = "file";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    pub version: i64,
    pub author: String,
    /// Seconds since 1970, UTC.
    pub saved_at: i64,
    pub note: String,
}

#[derive(Debug)]
pub struct History {
    db: Mutex<Connection>,
}

impl History {
    pub fn open(state_db: &Path) -> Result<Self, WebError> {
        let db = Connection::open(state_db).map_err(|e| WebError::state(state_db, &e))?;
        db.busy_timeout(Duration::from_secs(10))
            .map_err(|e| WebError::state(state_db, &e))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS web_dashboard_versions (
                 slug TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT NULL,
                 author TEXT NOT NULL, saved_at INTEGER NOT NULL, note TEXT NOT NULL,
                 PRIMARY KEY (slug, version));",
        )
        .map_err(|e| WebError::state(state_db, &e))?;
        Ok(Self { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `source` as the next version of `slug`, unless it is the latest
    /// already. Returns the version it is.
    pub fn record(&self, slug: &str, source: &str, author: &str, note: &str) -> Result<i64, WebError> {
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(WebError::sql)?;
        let latest: Option<(i64, String)> = tx
            .query_row(
                "SELECT version, source FROM web_dashboard_versions WHERE slug = ?1 ORDER BY version DESC LIMIT 1",
                params![slug],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(WebError::sql)?;
        if let Some((version, text)) = &latest
            && text == source
        {
            return Ok(*version);
        }
        let version = latest.map_or(1, |(v, _)| v + 1);
        tx.execute(
            "INSERT INTO web_dashboard_versions (slug, version, source, author, saved_at, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![slug, version, source, author, now_seconds(), note],
        )
        .map_err(WebError::sql)?;
        tx.commit().map_err(WebError::sql)?;
        Ok(version)
    }

    /// Takes back a version whose file could not be written.
    pub fn forget(&self, slug: &str, version: i64) -> Result<(), WebError> {
        self.db()
            .execute(
                "DELETE FROM web_dashboard_versions WHERE slug = ?1 AND version = ?2",
                params![slug, version],
            )
            .map_err(WebError::sql)?;
        Ok(())
    }

    /// Every version of `slug`, newest first.
    pub fn versions(&self, slug: &str) -> Result<Vec<VersionInfo>, WebError> {
        let db = self.db();
        let mut statement = db
            .prepare(
                "SELECT version, author, saved_at, note FROM web_dashboard_versions
                 WHERE slug = ?1 ORDER BY version DESC",
            )
            .map_err(WebError::sql)?;
        let rows = statement
            .query_map(params![slug], version_info)
            .map_err(WebError::sql)?;
        rows.collect::<Result<_, _>>().map_err(WebError::sql)
    }

    /// The text of every version of `slug`, oldest first.
    pub fn sources(&self, slug: &str) -> Result<Vec<(VersionInfo, String)>, WebError> {
        let db = self.db();
        let mut statement = db
            .prepare(
                "SELECT version, author, saved_at, note, source FROM web_dashboard_versions
                 WHERE slug = ?1 ORDER BY version",
            )
            .map_err(WebError::sql)?;
        let rows = statement
            .query_map(params![slug], version_and_source)
            .map_err(WebError::sql)?;
        rows.collect::<Result<_, _>>().map_err(WebError::sql)
    }

    /// Version `version` of `slug`: who saved it and its text.
    pub fn source(&self, slug: &str, version: i64) -> Result<Option<(VersionInfo, String)>, WebError> {
        self.db()
            .query_row(
                "SELECT version, author, saved_at, note, source FROM web_dashboard_versions
                 WHERE slug = ?1 AND version = ?2",
                params![slug, version],
                version_and_source,
            )
            .optional()
            .map_err(WebError::sql)
    }

    /// The newest version of `slug`, if any.
    pub fn latest(&self, slug: &str) -> Result<Option<i64>, WebError> {
        self.db()
            .query_row(
                "SELECT max(version) FROM web_dashboard_versions WHERE slug = ?1",
                params![slug],
                |row| row.get(0),
            )
            .map_err(WebError::sql)
    }
}

/// A row's `version, author, saved_at, note`.
fn version_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<VersionInfo> {
    Ok(VersionInfo {
        version: row.get(0)?,
        author: row.get(1)?,
        saved_at: row.get(2)?,
        note: row.get(3)?,
    })
}

/// A row's `version, author, saved_at, note, source`.
fn version_and_source(row: &rusqlite::Row<'_>) -> rusqlite::Result<(VersionInfo, String)> {
    Ok((version_info(row)?, row.get(4)?))
}

/// A unified diff of two versions' text, three lines of context.
pub fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}
