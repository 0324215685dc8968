//! One code path for the three production databases, through sqlx's `Any` driver.
//!
//! Every value is read as text (`CAST(.. AS CHAR/TEXT)`) and parsed here: the
//! `Any` driver cannot decode unsigned or date-time columns of every database,
//! and text spells them all the same way.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDateTime;
use futures::{Stream, StreamExt};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::error::SourcesError;
use crate::expected::{ColumnKind, ExpectedTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Mysql,
    Postgres,
}

impl Dialect {
    pub fn of(url: &str) -> Option<Self> {
        match url.split(':').next().unwrap_or_default() {
            "sqlite" => Some(Self::Sqlite),
            "mysql" | "mariadb" => Some(Self::Mysql),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    fn text_type(self) -> &'static str {
        match self {
            Self::Mysql => "CHAR",
            Self::Sqlite | Self::Postgres => "TEXT",
        }
    }

    /// Whether a column declared `declared` holds values of `kind`. SQLite has no
    /// date-time type: its DATETIME values are ISO-8601 text, whatever the declaration.
    fn stores(self, declared: &str, kind: ColumnKind) -> bool {
        let found = ColumnKind::of_declared(declared);
        found == Some(kind) || (self == Self::Sqlite && kind == ColumnKind::DateTime && found == Some(ColumnKind::Text))
    }

    fn columns_query(self, table: &str) -> String {
        match self {
            Self::Sqlite => format!("SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid"),
            Self::Mysql => format!(
                "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
            ),
            Self::Postgres => format!(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
            ),
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A table's rows as record batches, in the order the database returns them.
pub type SnapshotStream = Pin<Box<dyn Stream<Item = Result<RecordBatch, SourcesError>> + Send>>;

/// A connection pool to the production database, read-only by use.
#[derive(Debug, Clone)]
pub struct Production {
    pool: AnyPool,
    dialect: Dialect,
}

impl Production {
    /// Connects within `timeout`. A SQLite file must exist: production is never created here.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, SourcesError> {
        let dialect = Dialect::of(url).ok_or_else(|| SourcesError::UnknownScheme { url: redact(url) })?;
        sqlx::any::install_default_drivers();
        let unreachable = |message: String| SourcesError::Unreachable {
            url: redact(url),
            message,
        };
        if dialect == Dialect::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap_or_default();
            if !std::path::Path::new(path).is_file() {
                return Err(unreachable(format!("{path} does not exist")));
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect(url)
            .await
            .map_err(|e| unreachable(one_line(&e.to_string())))?;
        Ok(Self { pool, dialect })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Fails, naming the table and column, when production no longer has what `table` expects.
    /// Extra columns are fine: the snapshot reads only the expected ones.
    pub async fn check_schema(&self, table: &ExpectedTable) -> Result<(), SourcesError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.dialect.columns_query(table.name)))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| SourcesError::Query {
                table: table.name.to_owned(),
                message: one_line(&e.to_string()),
            })?;
        let live: Vec<(String, String)> = rows
            .iter()
            .map(|row| {
                let name: String = row.try_get(0).unwrap_or_default();
                let declared: String = row.try_get(1).unwrap_or_default();
                (name.to_ascii_lowercase(), declared)
            })
            .collect();
        if live.is_empty() {
            return Err(SourcesError::MissingTable {
                table: table.name.to_owned(),
            });
        }
        for expected in table.columns {
            match live.iter().find(|(name, _)| name == expected.name) {
                None => {
                    let unexpected: Vec<&str> = live
                        .iter()
                        .map(|(name, _)| name.as_str())
                        .filter(|name| !table.columns.iter().any(|c| c.name == *name))
                        .collect();
                    return Err(SourcesError::MissingColumn {
                        table: table.name.to_owned(),
                        column: expected.name.to_owned(),
                        expected: expected.kind.describe(),
                        unexpected: if unexpected.is_empty() {
                            "none".to_owned()
                        } else {
                            unexpected.join(", ")
                        },
                    });
                }
                Some((_, declared)) if !self.dialect.stores(declared, expected.kind) => {
                    return Err(SourcesError::RetypedColumn {
                        table: table.name.to_owned(),
                        column: expected.name.to_owned(),
                        found: declared.clone(),
                        expected: expected.kind.describe(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Streams the current rows of `table`, `batch_rows` at a time; at most two
    /// batches wait in memory, whatever the table's size.
    pub fn snapshot(&self, table: &'static ExpectedTable, batch_rows: usize) -> SnapshotStream {
        let select: Vec<String> = table
            .columns
            .iter()
            .map(|c| format!("CAST({} AS {})", c.name, self.dialect.text_type()))
            .collect();
        let sql = format!("SELECT {} FROM {}", select.join(", "), table.name);
        let pool = self.pool.clone();
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&pool);
            let mut batch = BatchBuilder::new(table, batch_rows);
            while let Some(row) = rows.next().await {
                let pushed = row
                    .map_err(|e| SourcesError::Query {
                        table: table.name.to_owned(),
                        message: one_line(&e.to_string()),
                    })
                    .and_then(|row| batch.push(&row));
                if let Err(error) = pushed {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
                if batch.rows >= batch_rows && sender.send(batch.finish()).await.is_err() {
                    return;
                }
            }
            if batch.rows > 0 {
                let _ = sender.send(batch.finish()).await;
            }
        });
        Box::pin(futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        }))
    }
}

enum ColumnBuilder {
    Integer(Int64Builder),
    Text(StringBuilder),
    DateTime(TimestampMicrosecondBuilder),
}

struct BatchBuilder {
    table: &'static ExpectedTable,
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

impl BatchBuilder {
    fn new(table: &'static ExpectedTable, capacity: usize) -> Self {
        let columns = table
            .columns
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Integer => ColumnBuilder::Integer(Int64Builder::with_capacity(capacity)),
                ColumnKind::Text => ColumnBuilder::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
                ColumnKind::DateTime => {
                    ColumnBuilder::DateTime(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
                }
            })
            .collect();
        Self {
            table,
            columns,
            rows: 0,
        }
    }

    fn push(&mut self, row: &AnyRow) -> Result<(), SourcesError> {
        for (index, (builder, expected)) in self.columns.iter_mut().zip(self.table.columns).enumerate() {
            let value: Option<String> = row.try_get(index).map_err(|e| SourcesError::Query {
                table: self.table.name.to_owned(),
                message: format!("column {}: {}", expected.name, one_line(&e.to_string())),
            })?;
            let bad = |value: &str| SourcesError::BadValue {
                table: self.table.name.to_owned(),
                column: expected.name.to_owned(),
                value: value.to_owned(),
                expected: expected.kind.describe(),
            };
            if value.is_none() && !expected.nullable {
                return Err(bad("NULL"));
            }
            match (builder, value.as_deref()) {
                (ColumnBuilder::Integer(b), value) => {
                    b.append_option(value.map(|v| v.trim().parse::<i64>().map_err(|_| bad(v))).transpose()?)
                }
                (ColumnBuilder::Text(b), value) => b.append_option(value),
                (ColumnBuilder::DateTime(b), value) => {
                    b.append_option(value.map(|v| parse_datetime(v).ok_or_else(|| bad(v))).transpose()?)
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch, SourcesError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|builder| -> ArrayRef {
                match builder {
                    ColumnBuilder::Integer(b) => Arc::new(b.finish()),
                    ColumnBuilder::Text(b) => Arc::new(b.finish()),
                    ColumnBuilder::DateTime(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.table.schema(), arrays).map_err(|e| SourcesError::Query {
            table: self.table.name.to_owned(),
            message: e.to_string(),
        })
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with a `T`), as UTC microseconds since the epoch.
fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z').replacen('T', " ", 1);
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_as_the_three_databases_print_them() {
        assert_eq!(parse_datetime("1970-01-01 00:00:01"), Some(1_000_000));
        assert_eq!(parse_datetime("1970-01-01T00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_datetime("1970-01-01 00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(redact("mysql://root:secret@h:3306/db"), "mysql://root:***@h:3306/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
