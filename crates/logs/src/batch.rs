//! Accumulates parsed events into Arrow arrays, building only the requested columns.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, StringArray, StringBuilder};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Date32Type, Int64Type, SchemaRef, TimestampMicrosecondType};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::line::Event;
use crate::schema::{ColumnSet, EventColumn};

#[derive(Debug)]
pub(crate) struct EventBatchBuilder {
    schema: SchemaRef,
    rows: usize,
    event_time: Option<NumberColumn<TimestampMicrosecondType>>,
    event_date: Option<NumberColumn<Date32Type>>,
    user_id: Option<NumberColumn<Int64Type>>,
    action: Option<StringBuilder>,
    object_id: Option<NumberColumn<Int64Type>>,
    ip: Option<StringBuilder>,
    client: Option<StringBuilder>,
    visitor_id: Option<StringBuilder>,
    channel: Option<StringBuilder>,
    request: Option<StringBuilder>,
    /// The same for every row of a file: never appended per row.
    server: Option<ConstantColumn>,
    source_file: Option<ConstantColumn>,
}

impl EventBatchBuilder {
    /// A builder sized for `rows` rows, so that a file's first batch does not
    /// grow its buffers from empty, copying them at every doubling (2% of the
    /// parser's instructions went to those copies, in jemalloc's `large_ralloc`).
    pub(crate) fn new(columns: ColumnSet, server: &str, source_file: &str, rows: usize) -> Self {
        let want = |c| columns.contains(c);
        let strings = |c, bytes_per_row: usize| {
            want(c).then(|| StringBuilder::with_capacity(rows, rows.saturating_mul(bytes_per_row)))
        };
        Self {
            schema: columns.schema(),
            rows: 0,
            event_time: NumberColumn::of(columns, EventColumn::EventTime, rows),
            event_date: NumberColumn::of(columns, EventColumn::EventDate, rows),
            user_id: NumberColumn::of(columns, EventColumn::UserId, rows),
            // Typical widths: a longer value costs one doubling in the file's first batch.
            action: strings(EventColumn::Action, 16),
            object_id: NumberColumn::of(columns, EventColumn::ObjectId, rows),
            ip: strings(EventColumn::Ip, 16),
            client: strings(EventColumn::Client, 8),
            visitor_id: strings(EventColumn::VisitorId, 16),
            channel: strings(EventColumn::Channel, 8),
            request: strings(EventColumn::Request, 64),
            server: want(EventColumn::Server).then(|| ConstantColumn::new(server)),
            source_file: want(EventColumn::SourceFile).then(|| ConstantColumn::new(source_file)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    pub(crate) fn append(&mut self, event: &Event<'_>) {
        self.rows += 1;
        if let Some(b) = &mut self.event_time {
            b.push(event.event_time);
        }
        if let Some(b) = &mut self.event_date {
            b.push(event.event_date);
        }
        if let Some(b) = &mut self.user_id {
            b.push_option(event.user_id);
        }
        if let Some(b) = &mut self.action {
            b.append_value(event.action);
        }
        if let Some(b) = &mut self.object_id {
            b.push_option(event.object_id);
        }
        if let Some(b) = &mut self.ip {
            b.append_option(event.ip);
        }
        if let Some(b) = &mut self.client {
            b.append_value(event.client.name());
        }
        if let Some(b) = &mut self.visitor_id {
            b.append_option(event.visitor_id);
        }
        if let Some(b) = &mut self.channel {
            b.append_option(event.channel.map(|c| c.name()));
        }
        if let Some(b) = &mut self.request {
            b.append_value(event.request);
        }
    }

    /// Takes the rows appended so far as a batch and starts over.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        macro_rules! take {
            ($with:ident: $($field:ident),*) => {$(
                if let Some(b) = &mut self.$field {
                    columns.push($with(b));
                }
            )*};
        }
        take!(take_numbers: event_time, event_date, user_id);
        take!(take_strings: action);
        take!(take_numbers: object_id);
        take!(take_strings: ip, client, visitor_id, channel, request);
        for constant in [&mut self.server, &mut self.source_file].into_iter().flatten() {
            columns.push(constant.take(self.rows));
        }
        // An empty projection (`SELECT count(*)`) still has to say how many rows there are.
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
    }
}

/// A column whose rows all hold one text: built once for a file's first batch and
/// sliced for the next ones, instead of copying the text into every row of every
/// batch (a file's batches are as long as its first, but for the last or one cut
/// short by many rejected lines; a longer one builds it again).
#[derive(Debug)]
struct ConstantColumn {
    value: String,
    built: Option<ArrayRef>,
}

impl ConstantColumn {
    fn new(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            built: None,
        }
    }

    fn take(&mut self, rows: usize) -> ArrayRef {
        match &self.built {
            Some(built) if built.len() >= rows => built.slice(0, rows),
            _ => {
                let built: ArrayRef = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(&self.value, rows)));
                self.built = Some(Arc::clone(&built));
                built
            }
        }
    }
}

/// Finishes a column and starts the next at the size of this one, with a
/// quarter more room for text, so a batch fills its buffers without growing
/// them (a batch of slightly longer text would double them, copying).
fn take_strings(builder: &mut StringBuilder) -> ArrayRef {
    let array = builder.finish();
    let bytes = array.value_data().len();
    *builder = StringBuilder::with_capacity(array.len(), bytes + bytes / 4);
    Arc::new(array)
}

fn take_numbers<T: ArrowPrimitiveType>(column: &mut NumberColumn<T>) -> ArrayRef {
    Arc::new(column.take())
}

/// A column of numbers as plain vectors, handed to Arrow whole at the batch's
/// end: a push is a few instructions where an Arrow builder's append was about
/// twenty, with a branch on whether the value is null, and a primitive array
/// is built from its vectors without a pass over them.
#[derive(Debug)]
struct NumberColumn<T: ArrowPrimitiveType> {
    data_type: DataType,
    values: Vec<T::Native>,
    /// One flag per row, for a nullable column; empty for one that is not.
    valid: Vec<bool>,
    nullable: bool,
}

impl<T: ArrowPrimitiveType> NumberColumn<T> {
    /// The column `column` sized for `rows` rows, when `columns` holds it.
    fn of(columns: ColumnSet, column: EventColumn, rows: usize) -> Option<Self> {
        let field = column.field();
        let nullable = field.is_nullable();
        columns.contains(column).then(|| Self {
            data_type: field.data_type().clone(),
            values: Vec::with_capacity(rows),
            valid: Vec::with_capacity(if nullable { rows } else { 0 }),
            nullable,
        })
    }

    fn push(&mut self, value: T::Native) {
        self.values.push(value);
    }

    /// A null is stored as the default value with its flag down, without a branch.
    fn push_option(&mut self, value: Option<T::Native>) {
        self.values.push(value.unwrap_or_default());
        self.valid.push(value.is_some());
    }

    /// Takes the rows pushed so far as an array and starts over at the same size.
    fn take(&mut self) -> PrimitiveArray<T> {
        let rows = self.values.len();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(rows));
        let valid = std::mem::replace(
            &mut self.valid,
            Vec::with_capacity(if self.nullable { rows } else { 0 }),
        );
        let nulls = Some(NullBuffer::from(valid)).filter(|nulls| nulls.null_count() > 0);
        PrimitiveArray::new(ScalarBuffer::from(values), nulls).with_data_type(self.data_type.clone())
    }
}
