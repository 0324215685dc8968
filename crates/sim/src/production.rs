//! The production database as the photo site's application writes it: the
//! tables of spec/production-schema.sql, changed in place, current state only.
//!
//! One code path for SQLite, MySQL/MariaDB and PostgreSQL through sqlx's `Any`
//! driver; only the DDL, placeholders and upsert syntax differ by dialect.
//! Every write is an upsert of a row's state at the end of its day, so writing
//! a day twice changes nothing.

use std::collections::BTreeMap;

pub use darkroom_sources::redact;
use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::{AnyPool, Arguments};

use crate::calendar::{MICROS_PER_SECOND, date};
use crate::error::SimError;
use crate::world::{Changes, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Mysql,
    Postgres,
}

/// A column value; nulls keep their type so PostgreSQL can check them.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    /// Microseconds since the epoch, stored as a DATETIME/TIMESTAMP to the second.
    Time(Option<i64>),
}

#[derive(Debug)]
struct Table {
    name: &'static str,
    key: &'static str,
    columns: &'static [&'static str],
}

const USERS: Table = Table {
    name: "users",
    key: "id",
    columns: &[
        "id",
        "username",
        "email",
        "firstname",
        "lastname",
        "country",
        "registration_client",
        "acquisition_channel",
        "visitor_id",
        "created_at",
        "deleted_at",
    ],
};
const PHOTOS: Table = Table {
    name: "photos",
    key: "id",
    columns: &[
        "id",
        "user_id",
        "title",
        "category",
        "privacy",
        "for_sale",
        "marketplace_status",
        "marketplace_submitted_at",
        "created_at",
        "deleted_at",
    ],
};
const SUBSCRIPTIONS: Table = Table {
    name: "subscriptions",
    key: "user_id",
    columns: &[
        "user_id",
        "plan",
        "is_active",
        "auto_renew",
        "expires_at",
        "comped",
        "updated_at",
    ],
};
const PAYMENTS: Table = Table {
    name: "subscription_payments",
    key: "id",
    columns: &[
        "id",
        "user_id",
        "plan",
        "period_months",
        "amount_cents",
        "currency",
        "provider",
        "provider_txn_id",
        "auto_renewal",
        "paid_at",
        "refunded_at",
    ],
};
const PURCHASES: Table = Table {
    name: "stock_purchases",
    key: "id",
    columns: &[
        "id",
        "photo_id",
        "buyer_user_id",
        "license",
        "price_cents",
        "seller_payout_cents",
        "currency",
        "provider",
        "provider_txn_id",
        "purchased_at",
    ],
};

/// The schema in MySQL's dialect, as spec/production-schema.sql has it.
const MYSQL_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, email VARCHAR(255) NOT NULL,
  firstname VARCHAR(100) NULL, lastname VARCHAR(100) NULL, country CHAR(2) NULL, registration_client VARCHAR(16) NOT NULL,
  acquisition_channel VARCHAR(16) NULL, visitor_id VARCHAR(32) NULL, created_at DATETIME NOT NULL, deleted_at DATETIME NULL);
CREATE TABLE IF NOT EXISTS photos (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY, user_id BIGINT UNSIGNED NOT NULL, title VARCHAR(255) NULL, category TINYINT NOT NULL,
  privacy TINYINT NOT NULL DEFAULT 0, for_sale TINYINT(1) NOT NULL DEFAULT 0, marketplace_status TINYINT NULL,
  marketplace_submitted_at DATETIME NULL, created_at DATETIME NOT NULL, deleted_at DATETIME NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
  user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY, plan VARCHAR(16) NOT NULL, is_active TINYINT(1) NOT NULL, auto_renew TINYINT(1) NOT NULL,
  expires_at DATETIME NOT NULL, comped TINYINT(1) NOT NULL DEFAULT 0, updated_at DATETIME NOT NULL);
CREATE TABLE IF NOT EXISTS subscription_payments (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY, user_id BIGINT UNSIGNED NOT NULL, plan VARCHAR(16) NOT NULL, period_months TINYINT NOT NULL,
  amount_cents INT NOT NULL, currency CHAR(3) NOT NULL, provider VARCHAR(16) NOT NULL, provider_txn_id VARCHAR(64) NOT NULL,
  auto_renewal TINYINT(1) NOT NULL, paid_at DATETIME NOT NULL, refunded_at DATETIME NULL);
CREATE TABLE IF NOT EXISTS stock_purchases (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY, photo_id BIGINT UNSIGNED NOT NULL, buyer_user_id BIGINT UNSIGNED NULL,
  license VARCHAR(16) NOT NULL, price_cents INT NOT NULL, seller_payout_cents INT NOT NULL, currency CHAR(3) NOT NULL,
  provider VARCHAR(16) NOT NULL, provider_txn_id VARCHAR(64) NOT NULL, purchased_at DATETIME NOT NULL);
";

impl Dialect {
    fn of(url: &str) -> Option<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Some(Self::Sqlite),
            "mysql" | "mariadb" => Some(Self::Mysql),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    /// The nearest types: PostgreSQL has no unsigned or tiny integers, SQLite keeps DATETIME as text.
    fn schema(self) -> String {
        match self {
            Self::Mysql => MYSQL_SCHEMA.to_owned(),
            Self::Postgres => MYSQL_SCHEMA
                .replace("BIGINT UNSIGNED", "BIGINT")
                .replace("TINYINT(1)", "SMALLINT")
                .replace("TINYINT", "SMALLINT")
                .replace("DATETIME", "TIMESTAMP"),
            Self::Sqlite => MYSQL_SCHEMA
                .replace("BIGINT UNSIGNED", "INTEGER")
                .replace("TINYINT(1)", "INTEGER")
                .replace("TINYINT", "INTEGER")
                .replace("DATETIME", "TEXT"),
        }
    }

    fn placeholder(self, n: usize, value: &Value) -> String {
        match (self, value) {
            (Self::Postgres, Value::Time(_)) => format!("${n}::timestamp"),
            (Self::Postgres, _) => format!("${n}"),
            _ => "?".to_owned(),
        }
    }

    fn upsert_tail(self, table: &Table) -> String {
        let others = table.columns.iter().filter(|c| **c != table.key);
        match self {
            Self::Mysql => {
                let sets: Vec<String> = others.map(|c| format!("{c} = VALUES({c})")).collect();
                format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
            Self::Sqlite | Self::Postgres => {
                let sets: Vec<String> = others.map(|c| format!("{c} = excluded.{c}")).collect();
                format!(" ON CONFLICT ({}) DO UPDATE SET {}", table.key, sets.join(", "))
            }
        }
    }
}

/// A connection to the production database the simulator writes.
#[derive(Debug, Clone)]
pub struct Production {
    pool: AnyPool,
    dialect: Dialect,
}

impl Production {
    /// Connects (creating a SQLite file if needed) and makes sure the tables exist.
    pub async fn connect(url: &str) -> Result<Self, SimError> {
        let dialect = Dialect::of(url).ok_or_else(|| SimError::ProductionUrl { url: redact(url) })?;
        sqlx::any::install_default_drivers();
        let url = match dialect {
            Dialect::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let unreachable = |e: sqlx::Error| SimError::ProductionUnreachable {
            url: redact(&url),
            message: e.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(&url)
            .await
            .map_err(unreachable)?;
        let production = Self { pool, dialect };
        for statement in dialect.schema().split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&production.pool)
                .await
                .map_err(unreachable)?;
        }
        Ok(production)
    }

    /// Writes the rows `changes` names, as they stand in `world`, in one transaction.
    /// `skip_txn` leaves one payment or sale out (the `missing_payment` fault).
    /// Upserts the rows, leaving out the payment or sale whose provider transaction is `skip_txn`.
    pub async fn write(&self, rows: &DayRows, skip_txn: Option<&str>) -> Result<(), SimError> {
        let fail = |e: sqlx::Error| SimError::ProductionWrite { message: e.to_string() };
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let kept = |row: &&Vec<Value>, txn_column: usize| {
            skip_txn.is_none() || !matches!(&row[txn_column], Value::Text(Some(t)) if Some(t.as_str()) == skip_txn)
        };
        for (table, rows, txn_column) in [
            (&USERS, &rows.users, None),
            (&PHOTOS, &rows.photos, None),
            (&SUBSCRIPTIONS, &rows.subscriptions, None),
            (&PAYMENTS, &rows.payments, Some(7)),
            (&PURCHASES, &rows.purchases, Some(8)),
        ] {
            let rows: Vec<Vec<Value>> = rows
                .values()
                .filter(|row| txn_column.is_none_or(|c| kept(row, c)))
                .cloned()
                .collect();
            for chunk in rows.chunks(200) {
                let (sql, arguments) = self.upsert(table, chunk);
                // Only constant names and placeholders are spliced in; every value is bound.
                sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
        }
        tx.commit().await.map_err(fail)
    }
}

/// Changed rows as they stood at the end of their day, by key. Rendered when the
/// day ends, so a row that changes again the next day is written as it was.
#[derive(Debug, Clone, Default)]
pub struct DayRows {
    users: BTreeMap<i64, Vec<Value>>,
    photos: BTreeMap<i64, Vec<Value>>,
    subscriptions: BTreeMap<i64, Vec<Value>>,
    payments: BTreeMap<i64, Vec<Value>>,
    purchases: BTreeMap<i64, Vec<Value>>,
}

impl DayRows {
    /// Adds `later`'s rows; a row in both keeps `later`'s state.
    pub fn merge(&mut self, later: Self) {
        self.users.extend(later.users);
        self.photos.extend(later.photos);
        self.subscriptions.extend(later.subscriptions);
        self.payments.extend(later.payments);
        self.purchases.extend(later.purchases);
    }

    /// The rows `changes` names, in their state in `world` now.
    pub fn render(world: &World, changes: &Changes) -> Self {
        let keyed = |rows: Vec<Vec<Value>>| -> BTreeMap<i64, Vec<Value>> {
            rows.into_iter()
                .map(|row| {
                    let key = match row.first() {
                        Some(Value::Int(Some(key))) => *key,
                        _ => 0,
                    };
                    (key, row)
                })
                .collect()
        };
        let users = changes.users.iter().map(|&i| user_row(world, i));
        let photos = changes.photos.iter().map(|&i| photo_row(world, i));
        let subscriptions = changes
            .subscriptions
            .iter()
            .filter_map(|u| world.subscriptions.get(u))
            .map(|s| {
                vec![
                    int(s.user),
                    text(s.plan.name()),
                    flag(s.is_active),
                    flag(s.auto_renew),
                    Value::Time(Some(s.expires_at)),
                    flag(s.comped),
                    Value::Time(Some(s.updated_at)),
                ]
            });
        let payments = changes.payments.iter().map(|&i| &world.payments[i]).map(|p| {
            vec![
                int(p.id),
                int(p.user),
                text(p.plan.name()),
                Value::Int(Some(i64::from(p.period_months))),
                Value::Int(Some(p.amount_cents)),
                text("USD"),
                text(p.provider.name()),
                text(&p.txn_id),
                flag(p.auto_renewal),
                Value::Time(Some(p.paid_at)),
                Value::Time(p.refunded_at),
            ]
        });
        let purchases = changes.purchases.iter().map(|&i| &world.purchases[i]).map(|p| {
            vec![
                int(p.id),
                int(p.photo),
                Value::Int(p.buyer.map(|b| b as i64)),
                text(if p.extended_license { "extended" } else { "standard" }),
                Value::Int(Some(p.price_cents)),
                Value::Int(Some(p.payout_cents)),
                text("USD"),
                text(p.provider.name()),
                text(&p.txn_id),
                Value::Time(Some(p.purchased_at)),
            ]
        });
        Self {
            users: keyed(users.collect()),
            photos: keyed(photos.collect()),
            subscriptions: keyed(subscriptions.collect()),
            payments: keyed(payments.collect()),
            purchases: keyed(purchases.collect()),
        }
    }
}

impl Production {
    fn upsert(&self, table: &Table, rows: &[Vec<Value>]) -> (String, AnyArguments) {
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", table.name, table.columns.join(", "));
        let mut arguments = AnyArguments::default();
        let mut n = 0;
        for (r, row) in rows.iter().enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (c, value) in row.iter().enumerate() {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.dialect.placeholder(n, value));
                // Binding these types cannot fail: they are all encodable by every driver.
                let _ = match value {
                    Value::Int(v) => arguments.add(*v),
                    Value::Text(v) => arguments.add(v.clone()),
                    Value::Time(v) => arguments.add(v.map(datetime)),
                };
            }
            sql.push(')');
        }
        sql.push_str(&self.dialect.upsert_tail(table));
        (sql, arguments)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn int(v: u64) -> Value {
    Value::Int(Some(v as i64))
}

fn text(v: &str) -> Value {
    Value::Text(Some(v.to_owned()))
}

fn flag(v: bool) -> Value {
    Value::Int(Some(i64::from(v)))
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, as spec/production-schema.sql keeps DATETIME.
pub fn datetime(micros: i64) -> String {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        date(seconds.div_euclid(86_400)),
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

fn user_row(world: &World, index: usize) -> Vec<Value> {
    let user = &world.users[index];
    let visitor = &world.visitors[user.devices[0] as usize];
    vec![
        int(user.id),
        text(&format!("user{}", user.id)),
        text(&format!("user{}@example.com", user.id)),
        Value::Text(user.first_name.map(str::to_owned)),
        Value::Text(user.last_name.map(str::to_owned)),
        Value::Text(user.country.map(str::to_owned)),
        text(user.client.name()),
        text(user.channel.name()),
        text(&format!("{:016x}", visitor.vid)),
        Value::Time(Some(user.created)),
        Value::Time(user.deleted_at),
    ]
}

fn photo_row(world: &World, index: usize) -> Vec<Value> {
    let photo = &world.photos[index];
    vec![
        int(photo.id),
        int(photo.user),
        Value::Text(photo.titled.then(|| format!("Photo {}", photo.id))),
        Value::Int(Some(i64::from(photo.category))),
        Value::Int(Some(i64::from(photo.privacy))),
        flag(photo.for_sale),
        Value::Int(photo.marketplace_status.map(i64::from)),
        Value::Time(photo.submitted_at),
        Value::Time(Some(photo.created)),
        Value::Time(photo.deleted_at),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("mysql://root:s3cret@127.0.0.1:3306/db"),
            "mysql://root:***@127.0.0.1:3306/db"
        );
        assert_eq!(
            redact("postgres://postgres@localhost/test"),
            "postgres://postgres@localhost/test"
        );
        assert_eq!(redact("sqlite://production.db"), "sqlite://production.db");
    }

    #[test]
    fn datetimes_are_utc_seconds() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_423_563_871_324_440), "2015-02-10 10:24:31");
    }

    #[test]
    fn upserts_fit_each_dialect() {
        assert_eq!(
            Dialect::Mysql.upsert_tail(&SUBSCRIPTIONS).split(',').next(),
            Some(" ON DUPLICATE KEY UPDATE plan = VALUES(plan)")
        );
        assert!(
            Dialect::Postgres
                .upsert_tail(&USERS)
                .starts_with(" ON CONFLICT (id) DO UPDATE SET username = excluded.username")
        );
        assert!(Dialect::Postgres.schema().contains("created_at TIMESTAMP NOT NULL"));
        assert_eq!(Dialect::Postgres.placeholder(3, &Value::Time(None)), "$3::timestamp");
        assert_eq!(Dialect::of("ftp://x"), None);
    }
}
