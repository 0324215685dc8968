//! The three production databases. Schema checks go through sqlx's `Any`
//! driver; snapshots through each database's own driver: MySQL/MariaDB and
//! PostgreSQL with sqlx, SQLite with rusqlite.
//!
//! MySQL and PostgreSQL values are read as text (`CAST(.. AS CHAR/TEXT)`) and
//! parsed here: unsigned and date-time columns decode differently in each, and
//! text spells them all the same way. SQLite is read typed on a blocking thread.
//! `Any` copied every value into its own row first: a snapshot of a few million
//! SQLite rows took a minute (90,000 rows/s).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDateTime;
use futures::{Stream, StreamExt};
use sqlx::any::AnyPoolOptions;
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
    /// The database file, when production is SQLite: snapshots read it directly.
    sqlite_file: Option<std::path::PathBuf>,
    /// For the snapshots' own connections through the database's native driver.
    url: String,
    connect_timeout: Duration,
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
        let mut sqlite_file = None;
        if dialect == Dialect::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:")
                .split('?')
                .next()
                .unwrap_or_default();
            if !std::path::Path::new(path).is_file() {
                return Err(unreachable(format!("{path} does not exist")));
            }
            sqlite_file = Some(std::path::PathBuf::from(path));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect(url)
            .await
            .map_err(|e| unreachable(one_line(&e.to_string())))?;
        Ok(Self {
            pool,
            dialect,
            sqlite_file,
            url: url.to_owned(),
            connect_timeout: timeout,
        })
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
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        if let Some(file) = self.sqlite_file.clone() {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            let sql = format!("SELECT {} FROM {}", names.join(", "), table.name);
            tokio::task::spawn_blocking(move || {
                if let Err(error) = read_sqlite(&file, table, &sql, batch_rows, &sender) {
                    let _ = sender.blocking_send(Err(error));
                }
            });
        } else {
            let select: Vec<String> = table
                .columns
                .iter()
                .map(|c| format!("CAST({} AS {})", c.name, self.dialect.text_type()))
                .collect();
            let sql = format!("SELECT {} FROM {}", select.join(", "), table.name);
            // The native driver knows the scheme as `mysql` only.
            let url = self.url.replacen("mariadb://", "mysql://", 1);
            let (dialect, timeout) = (self.dialect, self.connect_timeout);
            tokio::spawn(async move {
                let read = match dialect {
                    Dialect::Postgres => {
                        read_as_text::<sqlx::Postgres>(&url, timeout, table, sql, batch_rows, &sender).await
                    }
                    // MySQL/MariaDB: SQLite always has its file and is read above.
                    _ => read_as_text::<sqlx::MySql>(&url, timeout, table, sql, batch_rows, &sender).await,
                };
                if let Err(error) = read {
                    let _ = sender.send(Err(error)).await;
                }
            });
        }
        Box::pin(futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        }))
    }
}

type BatchSender = tokio::sync::mpsc::Sender<Result<RecordBatch, SourcesError>>;

/// Every column cast to text, through the database's own driver on a connection
/// of its own: `Any` would copy every value into its own row type first.
/// Returns early, without an error, when the reader hangs up.
async fn read_as_text<DB>(
    url: &str,
    connect_timeout: Duration,
    table: &'static ExpectedTable,
    sql: String,
    batch_rows: usize,
    sender: &BatchSender,
) -> Result<(), SourcesError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> &'r str: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let connecting = <DB::Connection as sqlx::Connection>::connect(url);
    let mut connection = tokio::time::timeout(connect_timeout, connecting)
        .await
        .map_err(|_| query_error(table, &format!("no connection within {} s", connect_timeout.as_secs())))?
        .map_err(|e| query_error(table, &e.to_string()))?;
    let mut rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql)).fetch(&mut connection);
    let mut batch = BatchBuilder::new(table, batch_rows);
    while let Some(row) = rows.next().await {
        let row = row.map_err(|e| query_error(table, &e.to_string()))?;
        for (index, expected) in table.columns.iter().enumerate() {
            let value: Option<&str> = row
                .try_get(index)
                .map_err(|e| query_error(table, &format!("column {}: {e}", expected.name)))?;
            batch.append(index, value.map_or(Value::Null, Value::Text))?;
        }
        batch.rows += 1;
        if batch.rows >= batch_rows && sender.send(batch.finish()).await.is_err() {
            return Ok(());
        }
    }
    if batch.rows > 0 {
        let _ = sender.send(batch.finish()).await;
    }
    Ok(())
}

/// SQLite, natively and read-only, on the calling (blocking) thread.
fn read_sqlite(
    file: &std::path::Path,
    table: &'static ExpectedTable,
    sql: &str,
    batch_rows: usize,
    sender: &BatchSender,
) -> Result<(), SourcesError> {
    use rusqlite::types::ValueRef;
    let failed = |e: rusqlite::Error| query_error(table, &e.to_string());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = rusqlite::Connection::open_with_flags(file, flags).map_err(failed)?;
    let mut statement = connection.prepare(sql).map_err(failed)?;
    let mut rows = statement.query([]).map_err(failed)?;
    let mut batch = BatchBuilder::new(table, batch_rows);
    while let Some(row) = rows.next().map_err(failed)? {
        for index in 0..table.columns.len() {
            match row.get_ref(index).map_err(failed)? {
                ValueRef::Null => batch.append(index, Value::Null)?,
                ValueRef::Integer(integer) => batch.append(index, Value::Integer(integer))?,
                // As `CAST(x AS TEXT)` would spell them, so every database reads alike.
                ValueRef::Real(real) => batch.append(index, Value::Text(&real.to_string()))?,
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                    batch.append(index, Value::Text(&String::from_utf8_lossy(bytes)))?
                }
            }
        }
        batch.rows += 1;
        if batch.rows >= batch_rows && sender.blocking_send(batch.finish()).is_err() {
            return Ok(());
        }
    }
    if batch.rows > 0 {
        let _ = sender.blocking_send(batch.finish());
    }
    Ok(())
}

fn query_error(table: &ExpectedTable, message: &str) -> SourcesError {
    SourcesError::Query {
        table: table.name.to_owned(),
        message: one_line(message),
    }
}

/// One value as a driver hands it over.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Null,
    Integer(i64),
    Text(&'a str),
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

    /// Appends column `index` of the current row; count the row with `rows += 1` after its last column.
    fn append(&mut self, index: usize, value: Value<'_>) -> Result<(), SourcesError> {
        let expected = &self.table.columns[index];
        let bad = |value: &str| SourcesError::BadValue {
            table: self.table.name.to_owned(),
            column: expected.name.to_owned(),
            value: value.to_owned(),
            expected: expected.kind.describe(),
        };
        match (&mut self.columns[index], value) {
            (_, Value::Null) if !expected.nullable => return Err(bad("NULL")),
            (ColumnBuilder::Integer(b), Value::Null) => b.append_null(),
            (ColumnBuilder::Text(b), Value::Null) => b.append_null(),
            (ColumnBuilder::DateTime(b), Value::Null) => b.append_null(),
            (ColumnBuilder::Integer(b), Value::Integer(integer)) => b.append_value(integer),
            (ColumnBuilder::Integer(b), Value::Text(text)) => {
                b.append_value(text.trim().parse::<i64>().map_err(|_| bad(text))?)
            }
            (ColumnBuilder::Text(b), Value::Integer(integer)) => b.append_value(integer.to_string()),
            (ColumnBuilder::Text(b), Value::Text(text)) => b.append_value(text),
            (ColumnBuilder::DateTime(_), Value::Integer(integer)) => return Err(bad(&integer.to_string())),
            (ColumnBuilder::DateTime(b), Value::Text(text)) => {
                b.append_value(parse_datetime(text).ok_or_else(|| bad(text))?)
            }
        }
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
        RecordBatch::try_new(self.table.schema(), arrays).map_err(|e| query_error(self.table, &e.to_string()))
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with a `T`), as UTC microseconds since the epoch.
fn parse_datetime(text: &str) -> Option<i64> {
    common_datetime(text.as_bytes()).or_else(|| {
        let text = text.trim().trim_end_matches('Z').replacen('T', " ", 1);
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|t| t.and_utc().timestamp_micros())
    })
}

/// The spelling all three databases use, `YYYY-MM-DD HH:MM:SS` and up to six
/// fraction digits, without building a string; anything else is `None`.
fn common_datetime(text: &[u8]) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        text.get(range)?.iter().try_fold(0u32, |value, &b| {
            b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if text.len() < 19 || separators.iter().any(|&(at, separator)| text[at] != separator) {
        return None;
    }
    let mut micros = 0;
    match &text[19..] {
        [] => {}
        [b'.', fraction @ ..] if (1..=6).contains(&fraction.len()) => {
            micros = number(20..text.len())? * 10u32.pow(6 - fraction.len() as u32);
        }
        _ => return None,
    }
    let date = chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?;
    let time = date.and_hms_micro_opt(number(11..13)?, number(14..16)?, number(17..19)?, micros)?;
    Some(time.and_utc().timestamp_micros())
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
        assert_eq!(
            parse_datetime("2015-01-05 10:24:31.324440"),
            Some(1_420_453_471_324_440)
        );
        assert_eq!(parse_datetime("2015-01-05 10:24:31.32"), Some(1_420_453_471_320_000));
        assert_eq!(parse_datetime("2015-02-29 10:24:31"), None);
        assert_eq!(parse_datetime("2015-01-05 24:00:00"), None);
    }

    #[test]
    fn the_common_spelling_parses_as_chrono_does() {
        for text in [
            "2015-01-05 10:24:31",
            "2016-02-29 23:59:59.999999",
            "1999-12-31 00:00:00.5",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_micros());
            assert_eq!(common_datetime(text.as_bytes()), chrono, "{text}");
        }
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(redact("mysql://root:secret@h:3306/db"), "mysql://root:***@h:3306/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
