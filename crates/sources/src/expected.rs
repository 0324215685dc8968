//! What the warehouse expects of the production tables (spec/production-schema.sql).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The family of a column's declared type; all three databases spell each differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Text,
    DateTime,
}

impl ColumnKind {
    /// The family of a declared type as `information_schema` or SQLite's `pragma_table_info` reports it.
    pub fn of_declared(declared: &str) -> Option<Self> {
        let declared = declared.to_ascii_lowercase();
        if declared.contains("int") {
            Some(Self::Integer)
        } else if declared.contains("char") || declared.contains("text") || declared.contains("clob") {
            Some(Self::Text)
        } else if declared.contains("date") || declared.contains("time") {
            Some(Self::DateTime)
        } else {
            None
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Integer => "an integer",
            Self::Text => "a text (CHAR/VARCHAR)",
            Self::DateTime => "a DATETIME/TIMESTAMP",
        }
    }

    fn arrow(self) -> DataType {
        match self {
            Self::Integer => DataType::Int64,
            Self::Text => DataType::Utf8,
            Self::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ExpectedColumn {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub nullable: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct ExpectedTable {
    pub name: &'static str,
    pub columns: &'static [ExpectedColumn],
}

impl ExpectedTable {
    /// The snapshot's Arrow schema: integers as Int64, times as UTC microseconds.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.kind.arrow(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }
}

const fn column(name: &'static str, kind: ColumnKind, nullable: bool) -> ExpectedColumn {
    ExpectedColumn { name, kind, nullable }
}

use ColumnKind::{DateTime, Integer, Text};

/// The five production tables the nightly run snapshots.
pub const PRODUCTION_TABLES: [ExpectedTable; 5] = [
    ExpectedTable {
        name: "users",
        columns: &[
            column("id", Integer, false),
            column("username", Text, false),
            column("email", Text, false),
            column("firstname", Text, true),
            column("lastname", Text, true),
            column("country", Text, true),
            column("registration_client", Text, false),
            column("acquisition_channel", Text, true),
            column("visitor_id", Text, true),
            column("created_at", DateTime, false),
            column("deleted_at", DateTime, true),
        ],
    },
    ExpectedTable {
        name: "photos",
        columns: &[
            column("id", Integer, false),
            column("user_id", Integer, false),
            column("title", Text, true),
            column("category", Integer, false),
            column("privacy", Integer, false),
            column("for_sale", Integer, false),
            column("marketplace_status", Integer, true),
            column("marketplace_submitted_at", DateTime, true),
            column("created_at", DateTime, false),
            column("deleted_at", DateTime, true),
        ],
    },
    ExpectedTable {
        name: "subscriptions",
        columns: &[
            column("user_id", Integer, false),
            column("plan", Text, false),
            column("is_active", Integer, false),
            column("auto_renew", Integer, false),
            column("expires_at", DateTime, false),
            column("comped", Integer, false),
            column("updated_at", DateTime, false),
        ],
    },
    ExpectedTable {
        name: "subscription_payments",
        columns: &[
            column("id", Integer, false),
            column("user_id", Integer, false),
            column("plan", Text, false),
            column("period_months", Integer, false),
            column("amount_cents", Integer, false),
            column("currency", Text, false),
            column("provider", Text, false),
            column("provider_txn_id", Text, false),
            column("auto_renewal", Integer, false),
            column("paid_at", DateTime, false),
            column("refunded_at", DateTime, true),
        ],
    },
    ExpectedTable {
        name: "stock_purchases",
        columns: &[
            column("id", Integer, false),
            column("photo_id", Integer, false),
            column("buyer_user_id", Integer, true),
            column("license", Text, false),
            column("price_cents", Integer, false),
            column("seller_payout_cents", Integer, false),
            column("currency", Text, false),
            column("provider", Text, false),
            column("provider_txn_id", Text, false),
            column("purchased_at", DateTime, false),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_of_all_three_databases_fall_into_their_family() {
        for (declared, kind) in [
            ("bigint unsigned", Integer),
            ("BIGINT UNSIGNED", Integer),
            ("tinyint", Integer),
            ("integer", Integer),
            ("character varying", Text),
            ("VARCHAR(64)", Text),
            ("char", Text),
            ("timestamp without time zone", DateTime),
            ("DATETIME", DateTime),
            ("datetime", DateTime),
        ] {
            assert_eq!(ColumnKind::of_declared(declared), Some(kind), "{declared}");
        }
        assert_eq!(ColumnKind::of_declared("blob"), None);
    }
}
