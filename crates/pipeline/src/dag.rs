//! The task graph: built-in Rust tasks and SQL models, joined by the tables
//! they read and write. A task is complete when its output exists (see
//! `runner`), and runs after everything it requires.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use darkroom_audit::AUDIT_RESULTS;
use darkroom_metrics::{Catalog, DAILY_METRICS, DAILY_METRICS_BY_CLIENT, METRIC_RESTATEMENTS};
use darkroom_sources::{ExpectedTable, PRODUCTION_TABLES};

use crate::error::PipelineError;
use crate::model::Model;
use crate::upkeep::Upkeep;

pub const LOAD_LOGS: &str = "load_logs";
pub const LOAD_EXPORTS: &str = "load_exports";
pub const AUDITS: &str = "audits";
pub const SUBSCRIBER_SNAPSHOT: &str = "subscriber_snapshot";

pub const RAW_EVENTS: &str = "raw_events";
pub const ETL_LOG_FILES: &str = "etl_log_files";
pub const ETL_QUARANTINE: &str = "etl_quarantine";
pub const SUBSCRIBER_SNAPSHOTS: &str = "fact_subscriber_snapshots";
pub const EXT_GA_DAILY: &str = "ext_ga_daily";
pub const EXT_PAYMENTS: &str = "ext_payments";
pub const EXT_PLAN: &str = "ext_plan";
pub const EXT_RESTATEMENTS: &str = "ext_restatements";

/// The tables the audits read (with `daily_metrics`); the audits task runs after
/// the tasks that write them.
const AUDITED_TABLES: [&str; 9] = [
    RAW_EVENTS,
    EXT_GA_DAILY,
    SUBSCRIBER_SNAPSHOTS,
    "fact_page_views",
    "fact_subscription_purchases",
    "fact_stock_purchases",
    "fact_signups",
    "fact_uploads",
    "dim_photos",
];

/// The warehouse table holding the snapshot of production table `table`.
pub fn snapshot_table(table: &str) -> String {
    format!("prod_{table}")
}

#[derive(Debug, Clone)]
pub enum TaskKind {
    /// Parses new log archive files into `raw_events`, `etl_log_files`, `etl_quarantine`.
    LoadLogs,
    /// Copies one production table, as it is now, into `prod_<table>`.
    Snapshot(&'static ExpectedTable),
    /// Records the day's active subscriptions, once per day, never rewritten.
    SubscriberSnapshot,
    /// A SQL model.
    Model(Model),
    /// Every metric of the catalog for the days the run touched, and their restatements.
    DailyMetrics(Box<Catalog>),
    /// The outside exports of `[sources.external]` into `ext_*` tables.
    LoadExports,
    /// Every check of `audits.toml` for the days the run touched; last of all.
    /// The catalog, when there is one, says which metrics are counts.
    Audits(Option<Box<Catalog>>),
    /// Compaction, vacuum or checkpoints of every table; once every other task has ended.
    Upkeep(Upkeep),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub kind: TaskKind,
    /// Tasks that must be complete before this one runs.
    pub requires: Vec<String>,
    /// The warehouse tables it writes.
    pub outputs: Vec<String>,
}

/// The tasks in an order where each comes after everything it requires.
#[derive(Debug, Clone)]
pub struct Dag {
    pub tasks: Vec<Task>,
}

impl Dag {
    pub fn build(models: Vec<Model>, catalog: Option<Catalog>) -> Result<Self, PipelineError> {
        let mut tasks = vec![Task {
            name: LOAD_LOGS.into(),
            kind: TaskKind::LoadLogs,
            requires: Vec::new(),
            outputs: vec![RAW_EVENTS.into(), ETL_LOG_FILES.into(), ETL_QUARANTINE.into()],
        }];
        for table in &PRODUCTION_TABLES {
            tasks.push(Task {
                name: format!("snapshot_{}", table.name),
                kind: TaskKind::Snapshot(table),
                requires: Vec::new(),
                outputs: vec![snapshot_table(table.name)],
            });
        }
        tasks.push(Task {
            name: LOAD_EXPORTS.into(),
            kind: TaskKind::LoadExports,
            requires: Vec::new(),
            outputs: vec![
                EXT_GA_DAILY.into(),
                EXT_PAYMENTS.into(),
                EXT_PLAN.into(),
                EXT_RESTATEMENTS.into(),
            ],
        });
        tasks.push(Task {
            name: SUBSCRIBER_SNAPSHOT.into(),
            kind: TaskKind::SubscriberSnapshot,
            // Every snapshot: they tell whether production still shows the end of the day.
            requires: PRODUCTION_TABLES
                .iter()
                .map(|t| format!("snapshot_{}", t.name))
                .collect(),
            outputs: vec![SUBSCRIBER_SNAPSHOTS.into()],
        });
        let mut producer: BTreeMap<String, String> = tasks
            .iter()
            .flat_map(|t| t.outputs.iter().map(move |o| (o.clone(), t.name.clone())))
            .collect();
        for model in &models {
            if let Some(task) = producer.get(&model.name) {
                return Err(PipelineError::ModelShadowsBuiltIn {
                    path: model.path.clone(),
                    table: model.name.clone(),
                    task: task.clone(),
                });
            }
            producer.insert(model.name.clone(), model.name.clone());
        }
        for model in models {
            let mut requires = BTreeSet::new();
            for table in &model.reads {
                let task = producer.get(table).ok_or_else(|| PipelineError::UnknownTable {
                    path: model.path.clone(),
                    table: table.clone(),
                })?;
                requires.insert(task.clone());
            }
            if model.reads_run_days {
                requires.insert(LOAD_LOGS.to_owned());
            }
            tasks.push(Task {
                name: model.name.clone(),
                outputs: vec![model.name.clone()],
                requires: requires.into_iter().collect(),
                kind: TaskKind::Model(model),
            });
        }
        let audited = catalog.clone().map(Box::new);
        if let Some(catalog) = catalog {
            let mut requires = BTreeSet::new();
            for metric in &catalog.metrics {
                for table in &metric.reads {
                    let task = producer
                        .get(table)
                        .ok_or_else(|| PipelineError::MetricReadsUnknownTable {
                            path: catalog.path.clone(),
                            metric: metric.name.clone(),
                            table: table.clone(),
                        })?;
                    requires.insert(task.clone());
                }
            }
            tasks.push(Task {
                name: DAILY_METRICS.into(),
                kind: TaskKind::DailyMetrics(Box::new(catalog)),
                requires: requires.into_iter().collect(),
                outputs: vec![
                    DAILY_METRICS.into(),
                    DAILY_METRICS_BY_CLIENT.into(),
                    METRIC_RESTATEMENTS.into(),
                ],
            });
        }
        // After every task that writes a table the checks read, and no other:
        // a broken model of the user's own does not stop the night's audits.
        let audited_tables = AUDITED_TABLES.iter().chain([&DAILY_METRICS]);
        let requires: BTreeSet<String> = audited_tables
            .filter_map(|table| tasks.iter().find(|t| t.outputs.iter().any(|o| o == table)))
            .map(|t| t.name.clone())
            .collect();
        tasks.push(Task {
            name: AUDITS.into(),
            kind: TaskKind::Audits(audited),
            requires: requires.into_iter().collect(),
            outputs: vec![AUDIT_RESULTS.into()],
        });
        let mut previous: Option<&str> = None;
        for step in Upkeep::ALL {
            tasks.push(Task {
                name: step.task_name().into(),
                kind: TaskKind::Upkeep(step),
                requires: previous.iter().map(|p| (*p).to_owned()).collect(),
                outputs: Vec::new(),
            });
            previous = Some(step.task_name());
        }
        Ok(Self {
            tasks: topological_order(tasks)?,
        })
    }

    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// One line per task, in run order: name, what it is, what it requires, what it writes.
    pub fn render_text(&self) -> String {
        let mut text = String::new();
        for task in &self.tasks {
            let kind = match &task.kind {
                TaskKind::LoadLogs => "built-in: parse new log archives".to_owned(),
                TaskKind::Snapshot(table) => format!("built-in: snapshot production table {}", table.name),
                TaskKind::SubscriberSnapshot => "built-in: today's active subscribers, taken once".to_owned(),
                TaskKind::LoadExports => "built-in: the outside exports of [sources.external]".to_owned(),
                TaskKind::Audits(_) => "built-in: every check of audits.toml for the days the run touched".to_owned(),
                TaskKind::DailyMetrics(catalog) => format!(
                    "built-in: {} metrics of {} for the days the run touched",
                    catalog.metrics.len(),
                    catalog.path.display()
                ),
                TaskKind::Upkeep(step) => step.describe(),
                TaskKind::Model(model) => match (&model.partition_by, model.reads_run_days) {
                    (Some(column), true) => {
                        format!("model {}, replaces the run's days by {column}", model.path.display())
                    }
                    (Some(column), false) => {
                        format!("model {}, whole table, partitioned by {column}", model.path.display())
                    }
                    (None, _) => format!("model {}, whole table", model.path.display()),
                },
            };
            let requires = if task.requires.is_empty() {
                "-".to_owned()
            } else {
                task.requires.join(", ")
            };
            let _ = writeln!(
                text,
                "{}\n    {kind}\n    requires: {requires}\n    writes: {}",
                task.name,
                task.outputs.join(", ")
            );
        }
        text
    }

    /// The graph in Graphviz DOT: an edge from each requirement to the task needing it.
    pub fn render_dot(&self) -> String {
        let mut dot =
            String::from("digraph darkroom {\n    rankdir=LR;\n    node [shape=box, fontname=\"sans-serif\"];\n");
        for task in &self.tasks {
            let shape = if matches!(task.kind, TaskKind::Model(_)) {
                "box"
            } else {
                "box, style=rounded"
            };
            let _ = writeln!(dot, "    \"{}\" [{shape}];", task.name);
        }
        for task in &self.tasks {
            for required in &task.requires {
                let _ = writeln!(dot, "    \"{required}\" -> \"{}\";", task.name);
            }
        }
        dot.push_str("}\n");
        dot
    }

    /// `name` and every task that depends on it, directly or not.
    pub fn downstream_of(&self, name: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::from([name.to_owned()]);
        for task in &self.tasks {
            if task.requires.iter().any(|r| found.contains(r)) {
                found.insert(task.name.clone());
            }
        }
        found
    }
}

/// Repeatedly takes the first task (in definition order) whose requirements are all placed; a cycle is named.
fn topological_order(tasks: Vec<Task>) -> Result<Vec<Task>, PipelineError> {
    let mut remaining = tasks;
    let mut ordered: Vec<Task> = Vec::with_capacity(remaining.len());
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while !remaining.is_empty() {
        let Some(index) = remaining
            .iter()
            .position(|t| t.requires.iter().all(|r| placed.contains(r)))
        else {
            return Err(PipelineError::Cycle {
                cycle: find_cycle(&remaining),
            });
        };
        let task = remaining.remove(index);
        placed.insert(task.name.clone());
        ordered.push(task);
    }
    Ok(ordered)
}

/// Walks requirements among tasks that could not be ordered until one repeats.
fn find_cycle(stuck: &[Task]) -> String {
    let Some(first) = stuck.first() else {
        return String::new();
    };
    let mut path = vec![first.name.clone()];
    loop {
        let current = path.last().cloned().unwrap_or_default();
        let next = stuck
            .iter()
            .find(|t| t.name == current)
            .and_then(|t| t.requires.iter().find(|r| stuck.iter().any(|s| &s.name == *r)))
            .cloned();
        let Some(next) = next else {
            return path.join(" -> ");
        };
        if let Some(start) = path.iter().position(|p| *p == next) {
            let mut cycle = path[start..].to_vec();
            cycle.push(next);
            return cycle.join(" -> ");
        }
        path.push(next);
    }
}
