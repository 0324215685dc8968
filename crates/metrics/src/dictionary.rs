//! The data dictionary: every table and column of the warehouse with its type
//! and description, the values of every categorical column read from the
//! data, and the metric catalog; as a browsable HTML page and as Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::MetricsError;

/// The project file that holds the descriptions.
pub const DICTIONARY_FILE: &str = "dictionary.toml";
/// Values shown per categorical column; the rest are counted.
const MAX_VALUES: usize = 40;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptions {
    #[serde(default)]
    pub tables: BTreeMap<String, TableWords>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableWords {
    pub description: Option<String>,
    #[serde(default)]
    pub categorical: Vec<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

impl Descriptions {
    pub fn load(path: &Path) -> Result<Self, MetricsError> {
        let text = std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| MetricsError::DictionarySyntax {
            path: path.to_owned(),
            message: crate::catalog::toml_message(&text, &e),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnEntry {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub description: Option<String>,
    /// For a categorical column: `(value, rows)`, most common first; NULL as "NULL".
    pub values: Option<Vec<(String, i64)>>,
    /// Distinct values beyond those listed.
    pub more_values: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    pub name: String,
    pub description: Option<String>,
    pub rows: i64,
    pub columns: Vec<ColumnEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dictionary {
    pub tables: Vec<TableEntry>,
    /// name, definition, team, stage, unit, SQL.
    pub metrics: Vec<[String; 6]>,
}

impl Dictionary {
    /// Reads every table of `tables` in `ctx`: schema, row count, categorical values.
    /// `fallback` describes tables the words leave out (a model's header).
    pub async fn build(
        ctx: &SessionContext,
        tables: &[String],
        words: &Descriptions,
        fallback: &BTreeMap<String, String>,
        catalog: Option<&Catalog>,
    ) -> Result<Self, MetricsError> {
        let mut entries = Vec::new();
        for table in tables {
            let query = |e: datafusion::error::DataFusionError| MetricsError::Query {
                doing: format!("reading table {table} for the data dictionary"),
                message: e.to_string(),
            };
            let frame = ctx.table(table.as_str()).await.map_err(query)?;
            let schema = frame.schema().as_arrow().clone();
            let table_words = words.tables.get(table).cloned().unwrap_or_default();
            let rows = scalar_count(ctx, &format!("SELECT count(*) FROM \"{table}\"")).await?;
            let mut columns = Vec::new();
            for field in schema.fields() {
                let name = field.name();
                let (values, more_values) = if table_words.categorical.iter().any(|c| c == name) {
                    let (values, more) = values_of(ctx, table, name).await?;
                    (Some(values), more)
                } else {
                    (None, 0)
                };
                let description = table_words.columns.get(name).cloned().or_else(|| {
                    table
                        .strip_prefix("prod_")
                        .map(|source| format!("Column {name} of production table {source}, as of the last snapshot."))
                });
                columns.push(ColumnEntry {
                    name: name.clone(),
                    data_type: type_name(field.data_type()),
                    nullable: field.is_nullable(),
                    description,
                    values,
                    more_values,
                });
            }
            let description = table_words
                .description
                .or_else(|| fallback.get(table).cloned())
                .or_else(|| {
                    table
                        .strip_prefix("prod_")
                        .map(|source| format!("Production table {source} as it was at the last nightly snapshot."))
                });
            entries.push(TableEntry {
                name: table.clone(),
                description,
                rows,
                columns,
            });
        }
        let metrics = catalog
            .map(|c| {
                c.metrics
                    .iter()
                    .map(|m| {
                        [
                            m.name.clone(),
                            m.definition.clone(),
                            m.team.name().to_owned(),
                            m.stage.name().to_owned(),
                            m.unit.name().to_owned(),
                            m.display_sql(),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            tables: entries,
            metrics,
        })
    }

    /// `table.column` of every column without a description.
    pub fn undescribed(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for table in &self.tables {
            if table.description.is_none() {
                missing.push(table.name.clone());
            }
            for column in &table.columns {
                if column.description.is_none() {
                    missing.push(format!("{}.{}", table.name, column.name));
                }
            }
        }
        missing
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Data dictionary\n\n");
        for table in &self.tables {
            let _ = writeln!(md, "- [{0}](#{0})", table.name);
        }
        for table in &self.tables {
            let _ = write!(
                md,
                "\n## {}\n\n{}\n\n{} rows.\n\n| column | type | description | values |\n| --- | --- | --- | --- |\n",
                table.name,
                table.description.as_deref().unwrap_or("(no description)"),
                table.rows
            );
            for column in &table.columns {
                let _ = writeln!(
                    md,
                    "| {} | {}{} | {} | {} |",
                    column.name,
                    column.data_type,
                    if column.nullable { "" } else { " not null" },
                    cell(column.description.as_deref().unwrap_or("(no description)")),
                    cell(&values_text(column)),
                );
            }
        }
        if !self.metrics.is_empty() {
            md.push_str("\n## Metrics (daily_metrics)\n\n| metric | definition | team | stage | unit |\n| --- | --- | --- | --- | --- |\n");
            for [name, definition, team, stage, unit, _] in &self.metrics {
                let _ = writeln!(md, "| {name} | {} | {team} | {stage} | {unit} |", cell(definition));
            }
        }
        md
    }

    pub fn to_html(&self) -> String {
        page(self).into_string()
    }
}

async fn scalar_count(ctx: &SessionContext, sql: &str) -> Result<i64, MetricsError> {
    let query = |e: datafusion::error::DataFusionError| MetricsError::Query {
        doing: "counting rows for the data dictionary".into(),
        message: e.to_string(),
    };
    let batches = ctx.sql(sql).await.map_err(query)?.collect().await.map_err(query)?;
    Ok(batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().map(|a| a.value(0)))
        .unwrap_or(0))
}

/// The most common values of a column, and how many more distinct values there are.
async fn values_of(
    ctx: &SessionContext,
    table: &str,
    column: &str,
) -> Result<(Vec<(String, i64)>, usize), MetricsError> {
    let query = |e: datafusion::error::DataFusionError| MetricsError::Query {
        doing: format!("reading the values of {table}.{column}"),
        message: e.to_string(),
    };
    let sql = format!(
        "SELECT coalesce(CAST(\"{column}\" AS VARCHAR), 'NULL') AS value, count(*) AS rows \
         FROM \"{table}\" GROUP BY 1 ORDER BY 2 DESC, 1"
    );
    let batches = ctx.sql(&sql).await.map_err(query)?.collect().await.map_err(query)?;
    let mut values = Vec::new();
    for batch in &batches {
        let bad = || MetricsError::Query {
            doing: format!("reading the values of {table}.{column}"),
            message: "unexpected result types".into(),
        };
        let names = arrow::compute::cast(batch.column(0), &DataType::Utf8).map_err(|_| bad())?;
        let names = names.as_any().downcast_ref::<StringArray>().ok_or_else(bad)?;
        let counts = arrow::compute::cast(batch.column(1), &DataType::Int64).map_err(|_| bad())?;
        let counts = counts.as_any().downcast_ref::<Int64Array>().ok_or_else(bad)?;
        for row in 0..batch.num_rows() {
            values.push((names.value(row).to_owned(), counts.value(row)));
        }
    }
    let more = values.len().saturating_sub(MAX_VALUES);
    values.truncate(MAX_VALUES);
    Ok((values, more))
}

fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "integer".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "integer".into(),
        DataType::Float32 | DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp (UTC)".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Dictionary(_, value) => type_name(value),
        other => other.to_string(),
    }
}

fn values_text(column: &ColumnEntry) -> String {
    let Some(values) = &column.values else {
        return String::new();
    };
    let mut text = values
        .iter()
        .map(|(v, n)| format!("{v} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    if column.more_values > 0 {
        let _ = write!(text, ", and {} more", column.more_values);
    }
    text
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1d232a; margin: 0; display: flex; }
nav { width: 15rem; height: 100vh; overflow-y: auto; position: sticky; top: 0; background: #f4f6f8; padding: 1rem; font-size: .85rem; }
nav a { display: block; color: #1d4f91; text-decoration: none; padding: .1rem 0; }
main { padding: 1.5rem 2rem; max-width: 70rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #e3e7eb; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e7eb; vertical-align: top; }
th { background: #f4f6f8; }
code, .type { font-family: ui-monospace, monospace; font-size: .8rem; }
.values { color: #5b6570; font-size: .8rem; }
input { width: 100%; padding: .3rem; margin-bottom: .5rem; }
pre { background: #f4f6f8; padding: .5rem; font-size: .75rem; white-space: pre-wrap; }
";

const FILTER_SCRIPT: &str = "
document.getElementById('filter').addEventListener('input', function (e) {
  var q = e.target.value.toLowerCase();
  document.querySelectorAll('nav a').forEach(function (a) {
    a.style.display = a.textContent.toLowerCase().indexOf(q) >= 0 ? 'block' : 'none';
  });
});
";

fn page(dictionary: &Dictionary) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Data dictionary" }
                style { (STYLE) }
            }
            body {
                nav {
                    input #filter type="search" placeholder="Find a table";
                    @for table in &dictionary.tables {
                        a href=(format!("#{}", table.name)) { (table.name) }
                    }
                    @if !dictionary.metrics.is_empty() { a href="#metrics" { "metrics" } }
                }
                main {
                    h1 { "Data dictionary" }
                    p { (dictionary.tables.len()) " tables. Values of categorical columns are read from the data, most common first, with their row counts." }
                    @for table in &dictionary.tables {
                        h2 id=(table.name) { (table.name) }
                        p { (table.description.as_deref().unwrap_or("(no description)")) " " (table.rows) " rows." }
                        table {
                            thead { tr { th { "column" } th { "type" } th { "description" } th { "values" } } }
                            tbody {
                                @for column in &table.columns {
                                    tr {
                                        td { code { (column.name) } }
                                        td.type { (column.data_type) @if !column.nullable { " not null" } }
                                        td { (column.description.as_deref().unwrap_or("(no description)")) }
                                        td.values { (values_text(column)) }
                                    }
                                }
                            }
                        }
                    }
                    @if !dictionary.metrics.is_empty() {
                        h2 #metrics { "Metrics (daily_metrics)" }
                        table {
                            thead { tr { th { "metric" } th { "definition" } th { "team" } th { "stage" } th { "unit" } } }
                            tbody {
                                @for [name, definition, team, stage, unit, sql] in &dictionary.metrics {
                                    tr {
                                        td { code { (name) } }
                                        td { (definition) details { summary { "SQL" } pre { (sql) } } }
                                        td { (team) } td { (stage) } td { (unit) }
                                    }
                                }
                            }
                        }
                    }
                }
                script { (maud::PreEscaped(FILTER_SCRIPT)) }
            }
        }
    }
}
