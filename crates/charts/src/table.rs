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

    /// The columns a chart draws, in the order it reads them: `x`, then
    /// `series` (a name per row, long form), then `y`. Without `x` the first
    /// column is x; without `y`, every other column. With none of the three the
    /// table is drawn as the query gave it.
    pub fn pick(
        self,
        title: &str,
        x: Option<&str>,
        series: Option<&str>,
        y: &[String],
    ) -> Result<Self, crate::ChartError> {
        if x.is_none() && series.is_none() && y.is_empty() {
            return Ok(self);
        }
        let find = |role: &'static str, name: &str| {
            self.column(name).ok_or_else(|| crate::ChartError::NoSuchColumn {
                title: title.to_owned(),
                role,
                column: name.to_owned(),
                columns: self.columns.join(", "),
            })
        };
        let mut order = vec![match x {
            Some(name) => find("x", name)?,
            None => 0,
        }];
        if let Some(name) = series {
            order.push(find("series", name)?);
        }
        if y.is_empty() {
            let taken = order.clone();
            order.extend((0..self.columns.len()).filter(|i| !taken.contains(i)));
        } else {
            for name in y {
                order.push(find("y", name)?);
            }
        }
        Ok(Self {
            columns: order.iter().map(|&i| self.columns[i].clone()).collect(),
            rows: self
                .rows
                .into_iter()
                .map(|row| {
                    order
                        .iter()
                        .map(|&i| row.get(i).cloned().unwrap_or(Cell::Null))
                        .collect()
                })
                .collect(),
        })
    }

    /// Whether column `index` holds numbers (or nothing) in every row.
    pub fn is_numeric(&self, index: usize) -> bool {
        self.rows
            .iter()
            .all(|row| matches!(row.get(index), Some(Cell::Number(_) | Cell::Null)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            columns: vec!["client".into(), "date".into(), "value".into(), "other".into()],
            rows: vec![vec![
                Cell::Text("web".into()),
                Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 1).expect("date")),
                Cell::Number(3.0),
                Cell::Number(4.0),
            ]],
        }
    }

    #[test]
    fn pick_orders_x_then_series_then_y() {
        let picked = table()
            .pick("t", Some("date"), Some("client"), &["value".to_owned()])
            .expect("columns exist");
        assert_eq!(picked.columns, ["date", "client", "value"]);
        assert_eq!(
            picked.rows[0][0],
            Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"))
        );
        assert_eq!(picked.rows[0][2], Cell::Number(3.0));
    }

    #[test]
    fn pick_without_y_keeps_every_other_column() {
        let picked = table().pick("t", Some("date"), None, &[]).expect("columns exist");
        assert_eq!(picked.columns, ["date", "client", "value", "other"]);
    }

    #[test]
    fn pick_names_the_missing_column_and_the_ones_there_are() {
        let error = table().pick("t", Some("day"), None, &[]).expect_err("no such column");
        assert_eq!(
            error.to_string(),
            "chart \"t\": its x column \"day\" is not among the query's columns client, date, value, other"
        );
    }
}
