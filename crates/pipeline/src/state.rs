//! The project's state database (`state.db`, SQLite): run history, task
//! markers, which log files are loaded, which subscriber snapshots exist.
//!
//! A task's marker is its latest row in `task_runs` for the day: `succeeded`
//! means its output exists and a rerun skips it (Luigi's `complete()`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::PipelineError;

pub const STATE_FILE: &str = "state.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  day TEXT NOT NULL,
  state TEXT NOT NULL,
  forced INTEGER NOT NULL,
  started TEXT NOT NULL,
  finished TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS task_runs (
  run_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  task TEXT NOT NULL,
  state TEXT NOT NULL,
  started TEXT,
  finished TEXT,
  seconds REAL,
  rows_written INTEGER,
  table_versions TEXT,
  touched_days TEXT,
  error TEXT,
  note TEXT,
  log_tail TEXT,
  PRIMARY KEY (run_id, task)
);
CREATE INDEX IF NOT EXISTS task_runs_by_day ON task_runs (day, task, run_id);
CREATE TABLE IF NOT EXISTS log_files (
  source_file TEXT PRIMARY KEY,
  content_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  run_id INTEGER NOT NULL,
  duplicate_of TEXT
);
CREATE INDEX IF NOT EXISTS log_files_by_hash ON log_files (content_hash);
CREATE TABLE IF NOT EXISTS subscriber_snapshots (
  day TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL,
  rows INTEGER NOT NULL
);
";

/// A task's outcome in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Running,
    Succeeded,
    /// Complete from an earlier run; nothing was done.
    Skipped,
    Failed,
    /// Not run because a task it requires failed.
    UpstreamFailed,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::UpstreamFailed => "upstream_failed",
        }
    }
}

/// What a finished task reports for the history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRecord {
    pub seconds: f64,
    pub rows_written: u64,
    /// `table@version` of each table written, comma-separated.
    pub table_versions: String,
    /// Days (YYYY-MM-DD) whose data changed, comma-separated.
    pub touched_days: String,
    pub error: Option<String>,
    /// What else the person at the terminal was told (a retry, restated metrics).
    pub note: Option<String>,
    /// The last lines of the task's own log (`run-logs/RUN_ID/TASK.log`).
    pub log_tail: Option<String>,
}

#[derive(Debug)]
pub struct StateDb {
    connection: Connection,
    path: PathBuf,
}

impl StateDb {
    pub fn open(project_dir: &Path) -> Result<Self, PipelineError> {
        let path = project_dir.join(STATE_FILE);
        let connection = Connection::open(&path).map_err(state_error(&path))?;
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; {SCHEMA}"
            ))
            .map_err(state_error(&path))?;
        // A state.db from before task runs kept their note and log tail.
        for column in ["note", "log_tail"] {
            let has_column: bool = connection
                .query_row(
                    "SELECT count(*) > 0 FROM pragma_table_info('task_runs') WHERE name = ?1",
                    [column],
                    |row| row.get(0),
                )
                .map_err(state_error(&path))?;
            if !has_column {
                connection
                    .execute_batch(&format!("ALTER TABLE task_runs ADD COLUMN {column} TEXT"))
                    .map_err(state_error(&path))?;
            }
        }
        Ok(Self { connection, path })
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> PipelineError + '_ {
        state_error(&self.path)
    }

    pub fn start_run(&self, day: &str, forced: bool) -> Result<i64, PipelineError> {
        self.connection
            .execute(
                "INSERT INTO runs (day, state, forced, started) VALUES (?1, 'running', ?2, ?3)",
                params![day, forced, now()],
            )
            .map_err(self.fail())?;
        Ok(self.connection.last_insert_rowid())
    }

    pub fn finish_run(&self, run_id: i64, state: &str, error: Option<&str>) -> Result<(), PipelineError> {
        self.connection
            .execute(
                "UPDATE runs SET state = ?2, finished = ?3, error = ?4 WHERE run_id = ?1",
                params![run_id, state, now(), error],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    pub fn start_task(&self, run_id: i64, day: &str, task: &str) -> Result<(), PipelineError> {
        self.connection
            .execute(
                "INSERT OR REPLACE INTO task_runs (run_id, day, task, state, started) VALUES (?1, ?2, ?3, 'running', ?4)",
                params![run_id, day, task, now()],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    pub fn finish_task(
        &self,
        run_id: i64,
        day: &str,
        task: &str,
        state: TaskState,
        record: &TaskRecord,
    ) -> Result<(), PipelineError> {
        let stamp = now();
        self.connection
            .execute(
                "INSERT INTO task_runs (run_id, day, task, state, started, finished, seconds, rows_written, \
                 table_versions, touched_days, error, note, log_tail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (run_id, task) DO UPDATE SET state = ?4, finished = ?5, seconds = ?6, \
                 rows_written = ?7, table_versions = ?8, touched_days = ?9, error = ?10, note = ?11, log_tail = ?12",
                params![
                    run_id,
                    day,
                    task,
                    state.as_str(),
                    stamp,
                    record.seconds,
                    record.rows_written as i64,
                    record.table_versions,
                    record.touched_days,
                    record.error,
                    record.note,
                    record.log_tail
                ],
            )
            .map_err(self.fail())?;
        Ok(())
    }

    /// The latest finished record of `task` for `day` when it succeeded: the task is complete.
    pub fn completed(&self, day: &str, task: &str) -> Result<Option<TaskRecord>, PipelineError> {
        self.connection
            .query_row(
                "SELECT state, seconds, rows_written, table_versions, touched_days FROM task_runs \
                 WHERE day = ?1 AND task = ?2 AND state NOT IN ('running', 'skipped') \
                 ORDER BY run_id DESC LIMIT 1",
                params![day, task],
                |row| {
                    let state: String = row.get(0)?;
                    Ok((state == "succeeded").then(|| TaskRecord {
                        seconds: row.get::<_, Option<f64>>(1).ok().flatten().unwrap_or_default(),
                        rows_written: row.get::<_, Option<i64>>(2).ok().flatten().unwrap_or_default() as u64,
                        table_versions: row.get::<_, Option<String>>(3).ok().flatten().unwrap_or_default(),
                        touched_days: row.get::<_, Option<String>>(4).ok().flatten().unwrap_or_default(),
                        error: None,
                        note: None,
                        log_tail: None,
                    }))
                },
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.fail())
    }

    /// Runs and task runs, for the warehouse's `etl_runs` / `etl_task_runs`.
    pub fn runs(&self) -> Result<Vec<RunRow>, PipelineError> {
        let mut statement = self
            .connection
            .prepare("SELECT run_id, day, state, forced, started, finished, error FROM runs ORDER BY run_id")
            .map_err(self.fail())?;
        let rows = statement
            .query_map([], |row| {
                Ok(RunRow {
                    run_id: row.get(0)?,
                    day: row.get(1)?,
                    state: row.get(2)?,
                    forced: row.get(3)?,
                    started: row.get(4)?,
                    finished: row.get(5)?,
                    error: row.get(6)?,
                })
            })
            .map_err(self.fail())?;
        rows.collect::<Result<_, _>>().map_err(self.fail())
    }

    pub fn task_runs(&self) -> Result<Vec<TaskRunRow>, PipelineError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT run_id, day, task, state, started, finished, seconds, rows_written, table_versions, \
                 touched_days, error, note, log_tail FROM task_runs ORDER BY run_id, started",
            )
            .map_err(self.fail())?;
        let rows = statement
            .query_map([], |row| {
                Ok(TaskRunRow {
                    run_id: row.get(0)?,
                    day: row.get(1)?,
                    task: row.get(2)?,
                    state: row.get(3)?,
                    started: row.get(4)?,
                    finished: row.get(5)?,
                    seconds: row.get(6)?,
                    rows_written: row.get(7)?,
                    table_versions: row.get(8)?,
                    touched_days: row.get(9)?,
                    error: row.get(10)?,
                    note: row.get(11)?,
                    log_tail: row.get(12)?,
                })
            })
            .map_err(self.fail())?;
        rows.collect::<Result<_, _>>().map_err(self.fail())
    }

    /// The schedules `darkroom serve` keeps (darkroom-delivery writes them), for
    /// `etl_schedules`: name, cron, last_due, last_finished, last_outcome,
    /// last_error, next_due. Empty before a server ever ran a schedule.
    pub fn schedules(&self) -> Result<Vec<[Option<String>; 7]>, PipelineError> {
        let exists: bool = self
            .connection
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'delivery_schedules'",
                [],
                |row| row.get(0),
            )
            .map_err(self.fail())?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut statement = self
            .connection
            .prepare(
                "SELECT name, cron, last_due, last_finished, last_outcome, last_error, next_due \
                 FROM delivery_schedules ORDER BY name",
            )
            .map_err(self.fail())?;
        let rows = statement
            .query_map([], |row| {
                Ok([
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ])
            })
            .map_err(self.fail())?;
        rows.collect::<Result<_, _>>().map_err(self.fail())
    }

    /// Files whose load began but never finished (a crash between commits): `(source_file)`.
    pub fn unfinished_log_files(&self) -> Result<Vec<String>, PipelineError> {
        let mut statement = self
            .connection
            .prepare("SELECT source_file FROM log_files WHERE state = 'loading' ORDER BY source_file")
            .map_err(self.fail())?;
        let rows = statement.query_map([], |row| row.get(0)).map_err(self.fail())?;
        rows.collect::<Result<_, _>>().map_err(self.fail())
    }

    pub fn forget_log_files(&self, files: &[String]) -> Result<(), PipelineError> {
        for file in files {
            self.connection
                .execute("DELETE FROM log_files WHERE source_file = ?1", params![file])
                .map_err(self.fail())?;
        }
        Ok(())
    }

    pub fn is_log_file_known(&self, source_file: &str) -> Result<bool, PipelineError> {
        self.connection
            .query_row(
                "SELECT 1 FROM log_files WHERE source_file = ?1",
                params![source_file],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.fail())
    }

    /// The loaded file with these exact bytes, if any.
    pub fn log_file_with_hash(&self, hash: &str) -> Result<Option<String>, PipelineError> {
        self.connection
            .query_row(
                "SELECT source_file FROM log_files WHERE content_hash = ?1 AND duplicate_of IS NULL LIMIT 1",
                params![hash],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.fail())
    }

    pub fn mark_log_files(
        &self,
        run_id: i64,
        files: &[(String, String, Option<String>)],
        state: &str,
    ) -> Result<(), PipelineError> {
        let transaction = self.connection.unchecked_transaction().map_err(self.fail())?;
        for (source_file, hash, duplicate_of) in files {
            transaction
                .execute(
                    "INSERT INTO log_files (source_file, content_hash, state, run_id, duplicate_of) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source_file) DO UPDATE SET state = ?3, run_id = ?4",
                    params![source_file, hash, state, run_id, duplicate_of],
                )
                .map_err(self.fail())?;
        }
        transaction.commit().map_err(self.fail())
    }

    pub fn has_subscriber_snapshot(&self, day: &str) -> Result<bool, PipelineError> {
        self.connection
            .query_row(
                "SELECT 1 FROM subscriber_snapshots WHERE day = ?1",
                params![day],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.fail())
    }

    /// Every subscriber snapshot taken: (day, rows).
    pub fn subscriber_snapshots(&self) -> Result<Vec<(String, i64)>, PipelineError> {
        let mut statement = self
            .connection
            .prepare("SELECT day, rows FROM subscriber_snapshots ORDER BY day")
            .map_err(self.fail())?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
            .map_err(self.fail())?;
        rows.collect::<Result<_, _>>().map_err(self.fail())
    }

    pub fn record_subscriber_snapshot(&self, day: &str, run_id: i64, rows: u64) -> Result<(), PipelineError> {
        self.connection
            .execute(
                "INSERT OR REPLACE INTO subscriber_snapshots (day, run_id, rows) VALUES (?1, ?2, ?3)",
                params![day, run_id, rows as i64],
            )
            .map_err(self.fail())?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub run_id: i64,
    pub day: String,
    pub state: String,
    pub forced: bool,
    pub started: String,
    pub finished: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRunRow {
    pub run_id: i64,
    pub day: String,
    pub task: String,
    pub state: String,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub seconds: Option<f64>,
    pub rows_written: Option<i64>,
    pub table_versions: Option<String>,
    pub touched_days: Option<String>,
    pub error: Option<String>,
    pub note: Option<String>,
    pub log_tail: Option<String>,
}

fn state_error(path: &Path) -> impl Fn(rusqlite::Error) -> PipelineError + '_ {
    move |e| PipelineError::State {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// UTC wall-clock time, to the microsecond, as ISO-8601 text.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
