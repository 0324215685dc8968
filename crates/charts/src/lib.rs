//! Charts drawn on the server from one spec: SVG for the page (and, through
//! resvg, PNG for email), so a dashboard needs nothing in the browser to be read.
//!
//! A chart is a [`ChartSpec`] (kind, title, how its numbers read) and a
//! [`Table`] of rows, the answer of its query. The shape of the rows says what
//! is drawn:
//!
//! - line, bar (stacked), area: the first column is the x axis (dates or
//!   labels); then either one text column naming the series and one number
//!   column (long form), or one or more number columns, each a series (wide form);
//! - number: the first row's `value`, against `previous` and `plan` when the
//!   query gives them;
//! - table: every column;
//! - funnel: a step name and the number who reached it, in order.

mod axis;
mod draw;
mod format;
mod png;
mod table;

pub use draw::render_svg;
pub use format::{NumberFormat, format_date, format_number};
pub use png::{render_png, svg_to_png};
pub use table::{Cell, Table};

/// Okabe and Ito's palette, darkest first: told apart by readers with any
/// common colour blindness.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Line,
    Bar,
    Area,
    Number,
    Table,
    Funnel,
}

impl ChartKind {
    pub const NAMES: [&'static str; 6] = ["line", "bar", "area", "number", "table", "funnel"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "line" => Self::Line,
            "bar" => Self::Bar,
            "area" => Self::Area,
            "number" => Self::Number,
            "table" => Self::Table,
            "funnel" => Self::Funnel,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// What to draw; the same spec draws the page's SVG and the email's PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub kind: ChartKind,
    pub title: String,
    pub format: NumberFormat,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChartError {
    #[error("chart {title:?}: a {kind} chart needs {needs}, but its query gave the columns {columns}")]
    Shape {
        title: String,
        kind: &'static str,
        needs: &'static str,
        columns: String,
    },
    #[error("chart {title:?} cannot be drawn as an image: {reason}")]
    Raster { title: String, reason: String },
    #[error("chart {title:?}: its {role} column {column:?} is not among the query's columns {columns}")]
    NoSuchColumn {
        title: String,
        role: &'static str,
        column: String,
        columns: String,
    },
}

impl ChartError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Shape { .. } => {
                "change the chart's SQL to return the columns its kind draws (see the dashboard docs)"
            }
            Self::Raster { .. } => {
                "open the chart's SVG in the app to see what it draws, and report the chart's SQL and rows"
            }
            Self::NoSuchColumn { .. } => {
                "name one of the query's columns as the chart's x, y or series, or leave it out to draw the columns in order"
            }
        }
    }
}
