//! A finding: one row of `audit_results`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::AuditError;

/// The table the nightly run writes the findings to.
pub const AUDIT_RESULTS: &str = "audit_results";

/// How a check judged its subject, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// A check's verdict on one subject (a server, a provider, a metric, a table)
/// for one day, with what was seen, what was expected, and a detail a person
/// can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Days since 1970-01-01.
    pub audit_date: i32,
    pub check: &'static str,
    pub subject: String,
    pub status: Status,
    pub observed: String,
    pub expected: String,
    pub detail: String,
}

impl Finding {
    pub fn new(audit_date: i32, check: &'static str, subject: impl Into<String>, status: Status) -> Self {
        Self {
            audit_date,
            check,
            subject: subject.into(),
            status,
            observed: String::new(),
            expected: String::new(),
            detail: String::new(),
        }
    }

    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    pub fn observed(mut self, text: impl Into<String>) -> Self {
        self.observed = text.into();
        self
    }

    pub fn expected(mut self, text: impl Into<String>) -> Self {
        self.expected = text.into();
        self
    }

    pub fn detail(mut self, text: impl Into<String>) -> Self {
        self.detail = text.into();
        self
    }
}

pub fn audit_results_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("audit_date", DataType::Date32, false),
        Field::new("check", DataType::Utf8, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("observed", DataType::Utf8, false),
        Field::new("expected", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
    ]))
}

pub fn audit_results_batch(findings: &[Finding]) -> Result<RecordBatch, AuditError> {
    let text =
        |f: &dyn Fn(&Finding) -> &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(findings.iter().map(f))) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from_iter_values(findings.iter().map(|f| f.audit_date))),
        text(&|f| f.check),
        text(&|f| &f.subject),
        text(&|f| f.status.name()),
        text(&|f| &f.observed),
        text(&|f| &f.expected),
        text(&|f| &f.detail),
    ];
    RecordBatch::try_new(audit_results_schema(), columns).map_err(|e| AuditError::Batch { message: e.to_string() })
}

/// Worst first, then by day, check and subject: the order people read them in.
pub fn worst_first(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.status
            .cmp(&a.status)
            .then(a.audit_date.cmp(&b.audit_date))
            .then(a.check.cmp(b.check))
            .then(a.subject.cmp(&b.subject))
    });
}
