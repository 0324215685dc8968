//! The metric catalog: `metrics.toml` in the project, every metric defined once.
//!
//! A metric is either a *measure* (an aggregate over one table, per day, as
//! dbt's MetricFlow defines simple metrics) or free *SQL* for what an aggregate
//! cannot say (churn, sessions, trailing windows):
//!
//! ```toml
//! [[metrics]]
//! name = "dau"
//! label = "Daily active users"   # optional: what people read; the name stays the key
//! definition = "distinct user_id with any logged-in event on d"
//! team = "product"
//! stage = "engagement"
//! unit = "users"
//! table = "raw_events"
//! date_column = "event_date"      # the day a row counts on; may be an expression
//! measure = "count(DISTINCT user_id)"
//! filter = "user_id IS NOT NULL"  # optional
//! client_column = "client"        # optional: also broken down by client
//!
//! [[metrics]]
//! name = "churned_subscribers"
//! ...
//! sql = "SELECT d.day AS date, count(*) AS value FROM metric_days d JOIN ..."
//! ```
//!
//! SQL metrics read the days being computed from `metric_days(day)` and return
//! `date, value`. A day without a row is 0, or NULL for a ratio.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use datafusion::execution::SessionState;
use serde::Deserialize;

use crate::error::MetricsError;

/// The file of a project that holds the catalog.
pub const CATALOG_FILE: &str = "metrics.toml";
/// The table SQL metrics read their days from.
pub const METRIC_DAYS: &str = "metric_days";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    Executive,
    Product,
    Web,
    Mobile,
    Marketing,
    Sales,
}

impl Team {
    pub fn name(self) -> &'static str {
        match self {
            Self::Executive => "executive",
            Self::Product => "product",
            Self::Web => "web",
            Self::Mobile => "mobile",
            Self::Marketing => "marketing",
            Self::Sales => "sales",
        }
    }
}

/// Where in the customer's life the metric sits (the AARRR funnel, with engagement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Acquisition,
    Activation,
    Engagement,
    Retention,
    Revenue,
    Referral,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Acquisition => "acquisition",
            Self::Activation => "activation",
            Self::Engagement => "engagement",
            Self::Retention => "retention",
            Self::Revenue => "revenue",
            Self::Referral => "referral",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Users,
    Cents,
    Ratio,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Users => "users",
            Self::Cents => "cents",
            Self::Ratio => "ratio",
        }
    }

    /// What a day without a row is worth: nothing happened (0), or undefined for a ratio.
    pub fn empty_day(self) -> Option<f64> {
        match self {
            Self::Ratio => None,
            _ => Some(0.0),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a metric is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Computation {
    Measure {
        table: String,
        date_column: String,
        measure: String,
        filter: Option<String>,
        client_column: Option<String>,
    },
    Sql(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// The key: in daily_metrics, audits, plan.csv.
    pub name: String,
    /// What people read ("Paid subscribers"); by default the name as a sentence.
    pub label: String,
    pub definition: String,
    pub team: Team,
    pub stage: Stage,
    pub unit: Unit,
    pub computation: Computation,
    /// Warehouse tables its SQL reads, sorted.
    pub reads: Vec<String>,
}

impl Metric {
    pub fn has_client_breakdown(&self) -> bool {
        matches!(
            self.computation,
            Computation::Measure {
                client_column: Some(_),
                ..
            }
        )
    }

    /// The SQL of the daily totals for `days` (`DATE 'YYYY-MM-DD'` literals keep
    /// partition pruning); returns `date, value`.
    pub fn total_sql(&self, days: &[String]) -> String {
        match &self.computation {
            Computation::Measure {
                table,
                date_column,
                measure,
                filter,
                ..
            } => format!(
                "SELECT CAST({date_column} AS DATE) AS date, {measure} AS value\nFROM {table}\nWHERE {}\nGROUP BY 1",
                where_clause(date_column, filter.as_deref(), days)
            ),
            Computation::Sql(sql) => sql.clone(),
        }
    }

    /// The SQL of the breakdown by client for `days`; returns `date, client, value`.
    pub fn by_client_sql(&self, days: &[String]) -> Option<String> {
        let Computation::Measure {
            table,
            date_column,
            measure,
            filter,
            client_column: Some(client),
        } = &self.computation
        else {
            return None;
        };
        Some(format!(
            "SELECT CAST({date_column} AS DATE) AS date, coalesce(CAST({client} AS VARCHAR), 'unknown') AS client, \
             {measure} AS value\nFROM {table}\nWHERE {}\nGROUP BY 1, 2",
            where_clause(date_column, filter.as_deref(), days)
        ))
    }

    /// The SQL a reader sees in the data dictionary and the tearsheet: for one day `d`.
    pub fn display_sql(&self) -> String {
        self.total_sql(&["d".to_owned()]).replace("DATE 'd'", "d")
    }
}

fn where_clause(date_column: &str, filter: Option<&str>, days: &[String]) -> String {
    let list: Vec<String> = days.iter().map(|d| format!("DATE '{d}'")).collect();
    let days = format!("{date_column} IN ({})", list.join(", "));
    match filter {
        Some(filter) => format!("{days} AND ({filter})"),
        None => days,
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub path: PathBuf,
    pub metrics: Vec<Metric>,
}

impl Catalog {
    /// Reads and checks `path`: every entry complete, names unique, SQL that parses.
    pub fn load(path: &Path, state: &SessionState) -> Result<Self, MetricsError> {
        let text = std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text, state)
    }

    pub fn parse(path: &Path, text: &str, state: &SessionState) -> Result<Self, MetricsError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| MetricsError::CatalogSyntax {
            path: path.to_owned(),
            message: toml_message(text, &e),
        })?;
        let mut seen = BTreeSet::new();
        let mut metrics = Vec::with_capacity(file.metrics.len());
        for entry in file.metrics {
            let entry_error = |message: String| MetricsError::CatalogEntry {
                path: path.to_owned(),
                metric: entry.name.clone(),
                message,
            };
            if !seen.insert(entry.name.clone()) {
                return Err(entry_error("defined twice; a metric is defined once".into()));
            }
            if entry.name.is_empty()
                || !entry
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(entry_error("a name is lowercase letters, digits and _".into()));
            }
            if entry.definition.trim().is_empty() {
                return Err(entry_error(
                    "its definition is empty; say in one line what it counts".into(),
                ));
            }
            let computation = match (entry.sql, entry.table, entry.measure) {
                (Some(sql), None, None) => {
                    if entry.client_column.is_some() || entry.filter.is_some() || entry.date_column.is_some() {
                        return Err(entry_error(
                            "date_column, filter and client_column belong to a `table` + `measure` metric, not to `sql`"
                                .into(),
                        ));
                    }
                    Computation::Sql(sql)
                }
                (None, Some(table), Some(measure)) => Computation::Measure {
                    table,
                    date_column: entry
                        .date_column
                        .ok_or_else(|| entry_error("a `table` + `measure` metric needs `date_column`".into()))?,
                    measure,
                    filter: entry.filter,
                    client_column: entry.client_column,
                },
                _ => {
                    return Err(entry_error(
                        "give either `sql`, or `table` with `measure` (and `date_column`), not both".into(),
                    ));
                }
            };
            let label = entry
                .label
                .filter(|l| !l.trim().is_empty())
                .unwrap_or_else(|| sentence_case(&entry.name));
            let mut metric = Metric {
                label,
                name: entry.name,
                definition: entry.definition,
                team: entry.team,
                stage: entry.stage,
                unit: entry.unit,
                computation,
                reads: Vec::new(),
            };
            metric.reads = tables_read(&metric, state).map_err(|message| MetricsError::CatalogEntry {
                path: path.to_owned(),
                metric: metric.name.clone(),
                message,
            })?;
            metrics.push(metric);
        }
        if metrics.is_empty() {
            return Err(MetricsError::CatalogSyntax {
                path: path.to_owned(),
                message: "no [[metrics]] entries".into(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            metrics,
        })
    }

    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Every table some metric reads.
    pub fn reads(&self) -> BTreeSet<String> {
        self.metrics.iter().flat_map(|m| m.reads.iter().cloned()).collect()
    }
}

/// Parses the metric's SQL (both forms) and lists the tables it reads, `metric_days` left out.
fn tables_read(metric: &Metric, state: &SessionState) -> Result<Vec<String>, String> {
    let dialect = state.config().options().sql_parser.dialect;
    let mut sqls = vec![metric.total_sql(&["2000-01-01".to_owned()])];
    sqls.extend(metric.by_client_sql(&["2000-01-01".to_owned()]));
    let mut reads = BTreeSet::new();
    for sql in sqls {
        let statement = state
            .sql_to_statement(&sql, &dialect)
            .map_err(|e| format!("its SQL does not parse: {}", one_line(&e.to_string())))?;
        let references = state
            .resolve_table_references(&statement)
            .map_err(|e| format!("its SQL does not parse: {}", one_line(&e.to_string())))?;
        reads.extend(references.iter().map(|r| r.table().to_owned()));
    }
    reads.remove(METRIC_DAYS);
    Ok(reads.into_iter().collect())
}

/// `line L, column C: message` of a TOML error.
pub(crate) fn toml_message(text: &str, error: &toml::de::Error) -> String {
    let message = one_line(error.message());
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    metrics: Vec<CatalogEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogEntry {
    name: String,
    #[serde(default)]
    label: Option<String>,
    definition: String,
    team: Team,
    stage: Stage,
    unit: Unit,
    table: Option<String>,
    date_column: Option<String>,
    measure: Option<String>,
    filter: Option<String>,
    client_column: Option<String>,
    sql: Option<String>,
}

/// `paid_subscribers` as `Paid subscribers`: a label for a metric that has
/// none, and for any other key people read (a team, a filter).
pub fn sentence_case(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
