//! Why a line was quarantined: stable codes that land in `etl_quarantine.reason`.

use std::fmt;

/// The reason a line is not an event. `code()` is the stable text stored in the quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Not exactly seven fields separated by single spaces (also an empty line).
    FieldCount,
    /// DATE is not `YYYY-MM-DD` in ASCII digits and `-` (a non-ASCII dash lands here).
    BadDate,
    /// DATE has the right form but is not on the calendar (`2015-02-30`).
    ImpossibleDate,
    /// TIME is not `HH:MM:SS[.f{1,6}]` within range.
    BadTime,
    /// USER is neither `-` nor a decimal in 1..2^63-1.
    BadUserId,
    /// OBJECT is neither `-` nor a decimal in 1..2^63-1.
    BadObjectId,
    /// ACTION is not `[a-z_]{1,32}`.
    BadAction,
    /// USER is `-` on an action that needs a logged-in user.
    MissingUser,
    /// REQUEST is longer than 4096 bytes.
    RequestTooLong,
    /// REQUEST does not start with `/` or holds a byte outside printable ASCII.
    BadRequest,
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line holds control bytes (binary garbage).
    Binary,
    /// The line is longer than any valid line can be; its first bytes are kept.
    LineTooLong,
    /// The file ended (or its compressed stream broke) in the middle of this line.
    TruncatedLine,
}

impl RejectReason {
    pub const ALL: [RejectReason; 14] = [
        Self::FieldCount,
        Self::BadDate,
        Self::ImpossibleDate,
        Self::BadTime,
        Self::BadUserId,
        Self::BadObjectId,
        Self::BadAction,
        Self::MissingUser,
        Self::RequestTooLong,
        Self::BadRequest,
        Self::InvalidUtf8,
        Self::Binary,
        Self::LineTooLong,
        Self::TruncatedLine,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::FieldCount => "field_count",
            Self::BadDate => "bad_date",
            Self::ImpossibleDate => "impossible_date",
            Self::BadTime => "bad_time",
            Self::BadUserId => "bad_user_id",
            Self::BadObjectId => "bad_object_id",
            Self::BadAction => "bad_action",
            Self::MissingUser => "missing_user",
            Self::RequestTooLong => "request_too_long",
            Self::BadRequest => "bad_request",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::Binary => "binary",
            Self::LineTooLong => "line_too_long",
            Self::TruncatedLine => "truncated_line",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
