//! SQL models: `models/<table>.sql` in the project, each a SELECT whose result
//! becomes the table of its file name. Dependencies are read from the SQL
//! itself (the tables it references), never declared a second time.
//!
//! Header lines at the top of the file (SQL comments) say how it is written:
//! `-- partition_by: <date column>` partitions the table by that column; if the
//! SQL also reads `run_days`, a run replaces only the partitions of those days,
//! otherwise the whole table. `-- description: <text>` describes the table.

use std::path::{Path, PathBuf};

use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;

use crate::error::PipelineError;

/// The table the runner provides to partitioned models: the days being rebuilt.
pub const RUN_DAYS: &str = "run_days";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The table it writes: the file name without `.sql`.
    pub name: String,
    pub path: PathBuf,
    pub sql: String,
    pub partition_by: Option<String>,
    pub description: Option<String>,
    /// Tables the SQL reads, `run_days` excluded, sorted, without duplicates.
    pub reads: Vec<String>,
    pub reads_run_days: bool,
}

impl Model {
    /// Replaces only the partitions of the run's days.
    pub fn is_incremental(&self) -> bool {
        self.partition_by.is_some() && self.reads_run_days
    }
}

/// Every `*.sql` file of `dir`, by name; none when the folder does not exist.
pub fn load_models(dir: &Path, state: &SessionState) -> Result<Vec<Model>, PipelineError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PipelineError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    paths.sort();
    paths.iter().map(|path| load_model(path, state)).collect()
}

fn load_model(path: &Path, state: &SessionState) -> Result<Model, PipelineError> {
    let sql = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
        path: path.to_owned(),
        source,
    })?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    let (partition_by, description) = read_header(path, &sql)?;
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(&sql, &dialect).map_err(|e| sql_error(path, e))?;
    let references = state
        .resolve_table_references(&statement)
        .map_err(|e| sql_error(path, e))?;
    // DataFusion lists table functions (`generate_series(...)`, a date spine) among
    // the tables; they read no task's output.
    let mut reads: Vec<String> = references
        .iter()
        .map(|r| r.table().to_owned())
        .filter(|table| !state.table_functions().contains_key(table))
        .collect();
    reads.sort();
    reads.dedup();
    let reads_run_days = reads.iter().any(|r| r == RUN_DAYS);
    reads.retain(|r| r != RUN_DAYS);
    Ok(Model {
        name,
        path: path.to_owned(),
        sql,
        partition_by,
        description,
        reads,
        reads_run_days,
    })
}

type Header = (Option<String>, Option<String>);

fn read_header(path: &Path, sql: &str) -> Result<Header, PipelineError> {
    let mut partition_by = None;
    let mut description = None;
    for (index, line) in sql.lines().enumerate() {
        let line = line.trim();
        let Some(comment) = line.strip_prefix("--") else {
            if line.is_empty() {
                continue;
            }
            break;
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "partition_by" => {
                if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(PipelineError::ModelHeader {
                        path: path.to_owned(),
                        line: index + 1,
                        message: format!("partition_by needs one column name, not {value:?}"),
                    });
                }
                partition_by = Some(value.to_owned());
            }
            "description" => description = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok((partition_by, description))
}

/// The error with the model's file, and the line and column when the engine knows them.
pub fn sql_error(path: &Path, error: DataFusionError) -> PipelineError {
    let span = error.diagnostic().and_then(|d| d.span);
    let mut message = error.to_string();
    let mut location = span
        .filter(|s| s.start.line > 0)
        .map(|s| format!(" line {}, column {}", s.start.line, s.start.column))
        .unwrap_or_default();
    for prefix in ["SQL error: ", "Error during planning: ", "Schema error: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            message = rest.to_owned();
        }
    }
    // The parser's own errors arrive as `ParserError("...")`.
    if let Some(inner) = message
        .strip_prefix("ParserError(\"")
        .and_then(|m| m.strip_suffix("\")"))
    {
        message = inner.to_owned();
    }
    // The parser puts the place in the text: "... at Line: 3, Column: 17".
    if let Some(at) = message.find(" at Line: ") {
        let place = message[at + " at Line: ".len()..].to_owned();
        if let Some((line, column)) = place.split_once(", Column: ") {
            let column: String = column.chars().take_while(char::is_ascii_digit).collect();
            location = format!(" line {line}, column {column}");
        }
        message.truncate(at);
    }
    PipelineError::ModelSql {
        path: path.to_owned(),
        location,
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}
