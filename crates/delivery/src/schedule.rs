//! Cron schedules (UTC) and their record in the state database: when each
//! was last due, how that went, and when it is next due.
//!
//! (`darkroom-pipeline` shows the table as `etl_schedules`.)
//!
//! A due time is claimed in one SQLite transaction before its job runs, so two
//! servers on one project never run the same schedule twice; a time missed
//! while no server ran is run once at start (catch-up), never once per miss.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use croner::Cron;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::DeliveryError;

#[derive(Debug, Clone)]
pub struct Schedule {
    /// The key it was read from (`schedule.nightly_run`, `subscriptions[2].cron`).
    pub key: String,
    pub expression: String,
    cron: Cron,
}

impl Schedule {
    pub fn parse(key: &str, expression: &str) -> Result<Self, String> {
        let cron = Cron::from_str(expression).map_err(|e| {
            format!("{expression:?} is not a cron schedule (minute hour day-of-month month day-of-week, UTC): {e}")
        })?;
        Ok(Self {
            key: key.to_owned(),
            expression: expression.to_owned(),
            cron,
        })
    }

    /// The first due time after `time`.
    pub fn next_after(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&time, false).ok()
    }

    /// The last due time at or before `time`.
    pub fn latest_until(&self, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&time, true).ok()
    }
}

/// The schedules' table in the project's state database.
#[derive(Debug)]
pub struct ScheduleBook {
    path: PathBuf,
    db: Connection,
}

pub fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl ScheduleBook {
    pub fn open(project_dir: &Path) -> Result<Self, DeliveryError> {
        let path = project_dir.join("state.db");
        let fail = |source| DeliveryError::State {
            path: path.clone(),
            source,
        };
        let db = Connection::open(&path).map_err(fail)?;
        db.busy_timeout(Duration::from_secs(30)).map_err(fail)?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS delivery_schedules (
                 name TEXT PRIMARY KEY, cron TEXT NOT NULL, last_due TEXT, last_started TEXT,
                 last_finished TEXT, last_outcome TEXT, last_error TEXT, next_due TEXT)",
        )
        .map_err(fail)?;
        Ok(Self { path, db })
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> DeliveryError + '_ {
        |source| DeliveryError::State {
            path: self.path.clone(),
            source,
        }
    }

    /// At start: the due time to catch up on, if `schedule` was due while no
    /// server ran. A schedule seen for the first time has missed nothing.
    pub fn missed(
        &self,
        name: &str,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, DeliveryError> {
        let Some(latest) = schedule.latest_until(now) else {
            return Ok(None);
        };
        let known: Option<Option<String>> = self
            .db
            .query_row(
                "SELECT last_due FROM delivery_schedules WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.fail())?;
        match known {
            None => {
                self.db
                    .execute(
                        "INSERT OR IGNORE INTO delivery_schedules (name, cron, last_due) VALUES (?1, ?2, ?3)",
                        params![name, schedule.expression, stamp(latest)],
                    )
                    .map_err(self.fail())?;
                Ok(None)
            }
            Some(last) => Ok((last.as_deref() < Some(stamp(latest).as_str())).then_some(latest)),
        }
    }

    /// Claims `due` for this server: false when it (or a later time) was
    /// claimed already, by this server or another on the same project.
    pub fn claim(&mut self, name: &str, schedule: &Schedule, due: DateTime<Utc>) -> Result<bool, DeliveryError> {
        let path = self.path.clone();
        let fail = |source| DeliveryError::State {
            path: path.clone(),
            source,
        };
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let last: Option<Option<String>> = tx
            .query_row(
                "SELECT last_due FROM delivery_schedules WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)?;
        let due_text = stamp(due);
        if last.flatten().is_some_and(|l| l >= due_text) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO delivery_schedules (name, cron, last_due, last_started) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO UPDATE SET cron = ?2, last_due = ?3, last_started = ?4",
            params![name, schedule.expression, due_text, stamp(Utc::now())],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(true)
    }

    /// How the job for the claimed due time ended.
    pub fn finished(&self, name: &str, error: Option<&str>) -> Result<(), DeliveryError> {
        self.db
            .execute(
                "UPDATE delivery_schedules SET last_finished = ?2, last_outcome = ?3, last_error = ?4 WHERE name = ?1",
                params![
                    name,
                    stamp(Utc::now()),
                    if error.is_some() { "failed" } else { "succeeded" },
                    error
                ],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    /// Drops the rows of schedules no longer in `darkroom.toml` (a subscription
    /// removed or moved), so the Pipeline dashboard shows only what will run.
    pub fn keep_only(&self, names: &[&str]) -> Result<(), DeliveryError> {
        let known: Vec<String> = {
            let mut statement = self
                .db
                .prepare("SELECT name FROM delivery_schedules")
                .map_err(self.fail())?;
            let rows = statement.query_map([], |row| row.get(0)).map_err(self.fail())?;
            rows.collect::<Result<_, _>>().map_err(self.fail())?
        };
        for name in known.iter().filter(|k| !names.contains(&k.as_str())) {
            self.db
                .execute("DELETE FROM delivery_schedules WHERE name = ?1", params![name])
                .map_err(self.fail())?;
        }
        Ok(())
    }

    pub fn set_next(&self, name: &str, schedule: &Schedule, next: Option<DateTime<Utc>>) -> Result<(), DeliveryError> {
        self.db
            .execute(
                "INSERT INTO delivery_schedules (name, cron, next_due) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE SET cron = ?2, next_due = ?3",
                params![name, schedule.expression, next.map(stamp)],
            )
            .map_err(self.fail())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    #[test]
    fn due_times_are_utc() {
        let nightly = Schedule::parse("schedule.nightly_run", "30 0 * * *").expect("parses");
        assert_eq!(
            nightly.next_after(at("2026-12-07T00:30:00Z")),
            Some(at("2026-12-08T00:30:00Z"))
        );
        assert_eq!(
            nightly.latest_until(at("2026-12-07T00:30:00Z")),
            Some(at("2026-12-07T00:30:00Z"))
        );
        assert_eq!(
            nightly.latest_until(at("2026-12-07T00:29:59Z")),
            Some(at("2026-12-06T00:30:00Z"))
        );
    }

    #[test]
    fn a_due_time_is_claimed_once_and_a_missed_one_caught_up_once() {
        let dir = tempfile::tempdir().expect("dir");
        let hourly = Schedule::parse("subscriptions[1].cron", "0 * * * *").expect("parses");
        let mut first = ScheduleBook::open(dir.path()).expect("opens");
        let mut second = ScheduleBook::open(dir.path()).expect("opens");
        // First start: nothing was missed.
        assert_eq!(
            first.missed("s", &hourly, at("2026-12-07T10:30:00Z")).expect("reads"),
            None
        );
        // Two servers reach the same due time: one runs it.
        let due = at("2026-12-07T11:00:00Z");
        assert!(first.claim("s", &hourly, due).expect("claims"));
        assert!(!second.claim("s", &hourly, due).expect("claims"));
        first.finished("s", None).expect("records");
        // Down from 11:30 to 15:10: three hours missed, caught up once.
        let now = at("2026-12-07T15:10:00Z");
        let missed = second.missed("s", &hourly, now).expect("reads");
        assert_eq!(missed, Some(at("2026-12-07T15:00:00Z")));
        assert!(second.claim("s", &hourly, at("2026-12-07T15:00:00Z")).expect("claims"));
        assert_eq!(first.missed("s", &hourly, now).expect("reads"), None);
        // Removed from the file: forgotten, so it misses nothing when it comes back.
        let later = at("2026-12-07T18:10:00Z");
        assert_eq!(
            first.missed("s", &hourly, later).expect("reads"),
            Some(at("2026-12-07T18:00:00Z"))
        );
        first.keep_only(&["other"]).expect("prunes");
        assert_eq!(first.missed("s", &hourly, later).expect("reads"), None);
        assert!(
            !first
                .claim("s", &hourly, at("2026-12-07T14:00:00Z"))
                .expect("an earlier time is past")
        );
    }
}
