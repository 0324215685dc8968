//! The Arrow schema of parsed events: the `raw_events` columns of warehouse.md.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// All warehouse times are UTC; a zoned timestamp keeps Delta tables at protocol (1, 2).
pub fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The columns of an event, in schema order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventColumn {
    EventTime,
    EventDate,
    UserId,
    Action,
    ObjectId,
    Ip,
    Client,
    VisitorId,
    Channel,
    Request,
    Server,
    SourceFile,
}

impl EventColumn {
    pub const ALL: [EventColumn; 12] = [
        Self::EventTime,
        Self::EventDate,
        Self::UserId,
        Self::Action,
        Self::ObjectId,
        Self::Ip,
        Self::Client,
        Self::VisitorId,
        Self::Channel,
        Self::Request,
        Self::Server,
        Self::SourceFile,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn field(self) -> Field {
        match self {
            Self::EventTime => Field::new("event_time", utc_micros(), false),
            Self::EventDate => Field::new("event_date", DataType::Date32, false),
            Self::UserId => Field::new("user_id", DataType::Int64, true),
            Self::Action => Field::new("action", DataType::Utf8, false),
            Self::ObjectId => Field::new("object_id", DataType::Int64, true),
            Self::Ip => Field::new("ip", DataType::Utf8, true),
            Self::Client => Field::new("client", DataType::Utf8, false),
            Self::VisitorId => Field::new("visitor_id", DataType::Utf8, true),
            Self::Channel => Field::new("channel", DataType::Utf8, true),
            Self::Request => Field::new("request", DataType::Utf8, false),
            Self::Server => Field::new("server", DataType::Utf8, false),
            Self::SourceFile => Field::new("source_file", DataType::Utf8, false),
        }
    }
}

static EVENT_SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(EventColumn::ALL.map(EventColumn::field).to_vec())));

/// The schema of every event batch when all columns are read.
pub fn event_schema() -> SchemaRef {
    EVENT_SCHEMA.clone()
}

/// Which event columns to build; the others are never materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSet(u16);

impl ColumnSet {
    pub fn all() -> Self {
        Self((1 << EventColumn::ALL.len()) - 1)
    }

    /// From a DataFusion projection (column indices into `event_schema()`); `None` is all.
    pub fn from_projection(projection: Option<&Vec<usize>>) -> Self {
        match projection {
            None => Self::all(),
            Some(indices) => Self(indices.iter().fold(0, |bits, &i| bits | (1 << i))),
        }
    }

    pub fn contains(self, column: EventColumn) -> bool {
        self.0 & (1 << column.index()) != 0
    }

    /// The schema of batches built with this set, columns in schema order.
    pub fn schema(self) -> SchemaRef {
        if self == Self::all() {
            return event_schema();
        }
        let fields: Vec<Field> = EventColumn::ALL
            .into_iter()
            .filter(|c| self.contains(*c))
            .map(EventColumn::field)
            .collect();
        Arc::new(Schema::new(fields))
    }
}
