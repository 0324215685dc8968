//! The night's last three tasks, which keep every table cheap to open and read
//! however many nights it has seen: `compact_tables` (small files of a
//! partition packed together), `vacuum_tables` (files no version inside
//! `[warehouse] keep_versions_days` needs, deleted) and `checkpoint_tables`
//! (a Delta checkpoint every `[warehouse] checkpoint_every_commits` commits).
//! The runner starts them once every other task of the night has ended, in
//! that order, over every table of the warehouse.

use std::sync::Arc;

use futures::StreamExt as _;

use crate::context::{RunContext, TaskOutput};
use crate::error::PipelineError;
use crate::project::WarehouseSection;

/// Which of the three a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upkeep {
    Compact,
    Vacuum,
    Checkpoint,
}

pub const COMPACT_TABLES: &str = "compact_tables";
pub const VACUUM_TABLES: &str = "vacuum_tables";
pub const CHECKPOINT_TABLES: &str = "checkpoint_tables";

impl Upkeep {
    /// In the order they run, each requiring the one before.
    pub const ALL: [Upkeep; 3] = [Upkeep::Compact, Upkeep::Vacuum, Upkeep::Checkpoint];

    pub fn task_name(self) -> &'static str {
        match self {
            Self::Compact => COMPACT_TABLES,
            Self::Vacuum => VACUUM_TABLES,
            Self::Checkpoint => CHECKPOINT_TABLES,
        }
    }

    /// What `darkroom dag` says the task does.
    pub fn describe(self) -> String {
        match self {
            Self::Compact => format!(
                "built-in: packs the small files of a partition holding {} or more of them, in every table",
                darkroom_warehouse::COMPACT_AT_FILES
            ),
            Self::Vacuum => "built-in: deletes files no version inside [warehouse] keep_versions_days needs".into(),
            Self::Checkpoint => {
                "built-in: a Delta checkpoint of each table [warehouse] checkpoint_every_commits past its last".into()
            }
        }
    }
}

/// Tables upkeep works on at once: opening a table is mostly waiting for files.
const TABLES_AT_ONCE: usize = 4;

pub(crate) async fn upkeep(run: Arc<RunContext>, step: Upkeep) -> Result<TaskOutput, PipelineError> {
    let settings = &run.project.config.warehouse;
    let latest = run.warehouse.committed_versions()?;
    let tables: Vec<String> = match step {
        // A table the night did not write gained no file since it was last looked at.
        Upkeep::Compact => latest
            .iter()
            .filter(|(table, version)| run.versions_at_start.get(*table) != Some(version))
            .map(|(table, _)| table.clone())
            .collect(),
        // Files come of age with time, written to or not.
        Upkeep::Vacuum | Upkeep::Checkpoint => latest.keys().cloned().collect(),
    };
    let done: Vec<Result<(String, Option<TableChange>), PipelineError>> = futures::stream::iter(tables)
        .map(|table| {
            let run = Arc::clone(&run);
            async move {
                let outcome = on_table(&run, step, &table).await?;
                Ok((table, outcome))
            }
        })
        .buffer_unordered(TABLES_AT_ONCE)
        .collect()
        .await;
    let mut changed = Vec::new();
    for result in done {
        if let (table, Some(change)) = result? {
            changed.push((table, change));
        }
    }
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut output = TaskOutput::default();
    let mut said = Vec::new();
    for (table, change) in changed {
        if step != Upkeep::Checkpoint {
            output.versions.push((table, change.version));
        }
        said.push(change.said);
    }
    output.note = Some(note(step, settings, &said));
    Ok(output)
}

/// What one step did to one table.
#[derive(Debug)]
struct TableChange {
    /// The version it committed, or checkpointed.
    version: i64,
    said: String,
}

/// One table's step; `None` when the table needed nothing.
async fn on_table(run: &RunContext, step: Upkeep, table: &str) -> Result<Option<TableChange>, PipelineError> {
    let warehouse = &run.warehouse;
    let settings = &run.project.config.warehouse;
    // Bounded by MAX_KEEP_VERSIONS_DAYS when the project is loaded.
    let keep = chrono::Duration::days(settings.keep_versions_days as i64);
    Ok(match step {
        Upkeep::Compact => {
            let compacted = warehouse.compact(table).await?;
            compacted.version.map(|version| TableChange {
                version,
                said: format!(
                    "{table}: {} files into {}",
                    compacted.files_removed, compacted.files_added
                ),
            })
        }
        Upkeep::Vacuum => {
            let vacuumed = warehouse.vacuum(table, keep).await?;
            vacuumed.version.map(|version| TableChange {
                version,
                said: format!(
                    "{table}: {} files, {}",
                    vacuumed.files_deleted,
                    megabytes(vacuumed.bytes_deleted)
                ),
            })
        }
        Upkeep::Checkpoint => warehouse
            .checkpoint(table, settings.checkpoint_every_commits, keep)
            .await?
            .map(|version| TableChange {
                version,
                said: format!("{table}@{version}"),
            }),
    })
}

fn note(step: Upkeep, settings: &WarehouseSection, said: &[String]) -> String {
    match (step, said.is_empty()) {
        (Upkeep::Compact, true) => format!(
            "no table written tonight had a partition of {} small files",
            darkroom_warehouse::COMPACT_AT_FILES
        ),
        (Upkeep::Compact, false) => format!("compacted {}", said.join("; ")),
        (Upkeep::Vacuum, true) => format!(
            "no file was only in versions older than {} day(s)",
            settings.keep_versions_days
        ),
        (Upkeep::Vacuum, false) => format!(
            "deleted files only versions older than {} day(s) had: {}",
            settings.keep_versions_days,
            said.join("; ")
        ),
        (Upkeep::Checkpoint, true) => format!(
            "no table was {} commits past its last checkpoint",
            settings.checkpoint_every_commits
        ),
        (Upkeep::Checkpoint, false) => format!("checkpointed {}", said.join(", ")),
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
