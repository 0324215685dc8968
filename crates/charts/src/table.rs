//! The rows a chart draws: its query's answer, with dates and numbers typed.

use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Number(f64),
    Date(NaiveDate),
    Text(String),
}

impl Cell {
    pub fn number(&self) -> Option<f64> {
        match self {
            Self::Number(value) if value.is_finite() => Some(*value),
            _ => None,
        }
    }

    /// The cell as a label: an axis tick, a series or a table cell.
    pub fn label(&self, format: crate::NumberFormat) -> String {
        match self {
            Self::Null => String::new(),
            Self::Number(value) => crate::format_number(*value, format),
            Self::Date(date) => crate::format_date(*date),
            Self::Text(text) => text.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.eq_ignore_ascii_case(name))
    }

    /// Whether column `index` holds numbers (or nothing) in every row.
    pub fn is_numeric(&self, index: usize) -> bool {
        self.rows
            .iter()
            .all(|row| matches!(row.get(index), Some(Cell::Number(_) | Cell::Null)))
    }
}
