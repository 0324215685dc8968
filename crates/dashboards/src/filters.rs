//! A dashboard's filter values, from a request's query string or the filters'
//! defaults, bound to a chart's `$names` as typed values.
//!
//! A value is parsed into the type its parameter is compared with (a date, a
//! number, text) and handed to DataFusion as a `ScalarValue`: it never becomes
//! SQL text, so no value can change what a query does.

use std::collections::{BTreeMap, HashMap};

use arrow::datatypes::DataType;
use chrono::{Duration, NaiveDate};
use datafusion::common::{ParamValues, ScalarValue};

use crate::error::DashboardError;
use crate::file::{Dashboard, FilterKind};

/// A date range filter's named ranges, ending on the data's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePreset {
    Last7Days,
    Last28Days,
    Last90Days,
    Last365Days,
    AllTime,
}

impl DatePreset {
    pub const ALL: [Self; 5] = [
        Self::Last7Days,
        Self::Last28Days,
        Self::Last90Days,
        Self::Last365Days,
        Self::AllTime,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Last7Days => "last_7_days",
            Self::Last28Days => "last_28_days",
            Self::Last90Days => "last_90_days",
            Self::Last365Days => "last_365_days",
            Self::AllTime => "all_time",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Last7Days => "Last 7 days",
            Self::Last28Days => "Last 28 days",
            Self::Last90Days => "Last 90 days",
            Self::Last365Days => "Last 365 days",
            Self::AllTime => "All time",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The first and last day of the range ending on `last_day`.
    pub fn range(self, last_day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let days = match self {
            Self::Last7Days => 7,
            Self::Last28Days => 28,
            Self::Last90Days => 90,
            Self::Last365Days => 365,
            Self::AllTime => return (NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(), last_day),
        };
        (last_day - Duration::days(days - 1), last_day)
    }
}

/// The value of each `$name` a dashboard's filters bind, as text a person
/// chose (or the default), before it is typed for a query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterValues {
    /// `$name` (without `$`) to its value.
    pub values: BTreeMap<String, String>,
    /// Dates of a date range, already parsed.
    pub dates: BTreeMap<String, NaiveDate>,
}

fn parse_date(filter: &str, text: &str) -> Result<NaiveDate, DashboardError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| DashboardError::BadFilterValue {
        filter: filter.to_owned(),
        value: text.to_owned(),
        expected: "a date (YYYY-MM-DD)".to_owned(),
    })
}

impl FilterValues {
    /// The values from a query string (`days=last_7_days`, `days_start=2026-01-01`,
    /// `client=web`), each filter's default where the query gives none.
    /// `last_day` anchors the relative ranges: the data's last day.
    pub fn resolve(
        dashboard: &Dashboard,
        query: &HashMap<String, String>,
        last_day: NaiveDate,
    ) -> Result<Self, DashboardError> {
        // An empty field of the filter form means "not chosen".
        let query: HashMap<&String, &String> = query.iter().filter(|(_, v)| !v.is_empty()).collect();
        let mut resolved = Self::default();
        for filter in &dashboard.filters {
            match filter.kind {
                FilterKind::DateRange => {
                    let start_key = format!("{}_start", filter.name);
                    let end_key = format!("{}_end", filter.name);
                    let chosen = query.get(&filter.name).copied().or(filter.default.as_ref());
                    let (mut start, mut end) = match chosen {
                        Some(text) => match DatePreset::parse(text) {
                            Some(preset) => preset.range(last_day),
                            None => match text.split_once("..") {
                                Some((from, to)) => (parse_date(&filter.name, from)?, parse_date(&filter.name, to)?),
                                None => {
                                    return Err(DashboardError::BadFilterValue {
                                        filter: filter.name.clone(),
                                        value: text.clone(),
                                        expected: format!(
                                            "a range (one of {}, or FROM..TO as YYYY-MM-DD..YYYY-MM-DD)",
                                            DatePreset::ALL.map(DatePreset::name).join(", ")
                                        ),
                                    });
                                }
                            },
                        },
                        None => DatePreset::Last28Days.range(last_day),
                    };
                    if let Some(text) = query.get(&start_key) {
                        start = parse_date(&start_key, text)?;
                    }
                    if let Some(text) = query.get(&end_key) {
                        end = parse_date(&end_key, text)?;
                    }
                    for (key, day) in [(start_key, start), (end_key, end)] {
                        resolved.values.insert(key.clone(), day.to_string());
                        resolved.dates.insert(key, day);
                    }
                }
                FilterKind::Select => {
                    let value = query
                        .get(&filter.name)
                        .copied()
                        .or(filter.default.as_ref())
                        .cloned()
                        .unwrap_or_else(|| "all".to_owned());
                    resolved.values.insert(filter.name.clone(), value);
                }
            }
        }
        Ok(resolved)
    }

    /// The typed values of the `parameters` a chart's SQL takes (name to the type
    /// it is compared with, from [`darkroom_warehouse::QueryShape`]).
    pub fn bind(&self, parameters: &BTreeMap<String, Option<DataType>>) -> Result<ParamValues, DashboardError> {
        let mut bound: HashMap<String, ScalarValue> = HashMap::new();
        for (name, data_type) in parameters {
            let value = if let Some(day) = self.dates.get(name) {
                let typed = ScalarValue::Date32(Some(epoch_days(*day)));
                match data_type {
                    Some(wanted) if wanted != &DataType::Date32 => typed.cast_to(wanted).map_err(|_| bad(name, day))?,
                    _ => typed,
                }
            } else if let Some(text) = self.values.get(name) {
                match data_type {
                    None | Some(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                        ScalarValue::Utf8(Some(text.clone()))
                    }
                    Some(wanted) => ScalarValue::try_from_string(text.clone(), wanted).map_err(|_| {
                        DashboardError::BadFilterValue {
                            filter: name.clone(),
                            value: text.clone(),
                            expected: format!("a value of type {wanted}"),
                        }
                    })?,
                }
            } else {
                continue;
            };
            bound.insert(name.clone(), value);
        }
        Ok(ParamValues::from(bound))
    }
}

fn bad(name: &str, day: &NaiveDate) -> DashboardError {
    DashboardError::BadFilterValue {
        filter: name.to_owned(),
        value: day.to_string(),
        expected: "a value its query can compare".to_owned(),
    }
}

fn epoch_days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((day - epoch).num_days()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn dashboard() -> Dashboard {
        let text = r#"title = "t"
team = "product"
[[filters]]
name = "days"
kind = "date_range"
default = "last_7_days"
[[filters]]
name = "client"
kind = "select"
options_sql = "SELECT 'web'"
"#;
        Dashboard::parse(Path::new("t.toml"), text).expect("loads")
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn defaults_end_on_the_data_s_last_day() {
        let values = FilterValues::resolve(&dashboard(), &HashMap::new(), day("2026-03-10")).expect("resolves");
        assert_eq!(values.values["days_start"], "2026-03-04");
        assert_eq!(values.values["days_end"], "2026-03-10");
        assert_eq!(values.values["client"], "all");
    }

    /// Regression: the form sends its empty range select as `days=`, which was
    /// refused as a range, so a filtered page showed an error and its downloads failed.
    #[test]
    fn an_empty_form_field_is_not_chosen() {
        let query = HashMap::from([
            ("days".to_owned(), String::new()),
            ("days_start".to_owned(), "2026-03-01".to_owned()),
            ("client".to_owned(), String::new()),
        ]);
        let values = FilterValues::resolve(&dashboard(), &query, day("2026-03-10")).expect("resolves");
        assert_eq!(values.values["days_start"], "2026-03-01");
        assert_eq!(values.values["days_end"], "2026-03-10");
        assert_eq!(values.values["client"], "all");
    }

    #[test]
    fn a_value_that_is_not_a_date_is_refused_by_name() {
        let query = HashMap::from([("days_start".to_owned(), "2026-01-01' OR 1=1 --".to_owned())]);
        let error = FilterValues::resolve(&dashboard(), &query, day("2026-03-10")).expect_err("not a date");
        assert_eq!(
            error.to_string(),
            "filter `days_start`: \"2026-01-01' OR 1=1 --\" is not a date (YYYY-MM-DD)"
        );
    }

    #[test]
    fn text_is_bound_as_a_typed_value_never_as_sql() {
        let query = HashMap::from([("client".to_owned(), "web' OR '1'='1".to_owned())]);
        let values = FilterValues::resolve(&dashboard(), &query, day("2026-03-10")).expect("resolves");
        let parameters = BTreeMap::from([
            ("client".to_owned(), Some(DataType::Utf8)),
            ("days_start".to_owned(), Some(DataType::Date32)),
        ]);
        let ParamValues::Map(bound) = values.bind(&parameters).expect("binds") else {
            panic!("named parameters");
        };
        assert_eq!(
            bound["client"].value,
            ScalarValue::Utf8(Some("web' OR '1'='1".to_owned()))
        );
        assert_eq!(
            bound["days_start"].value,
            ScalarValue::Date32(Some(epoch_days(day("2026-03-04"))))
        );
    }

    #[test]
    fn a_number_parameter_refuses_text() {
        let query = HashMap::from([("client".to_owned(), "1; DROP TABLE x".to_owned())]);
        let values = FilterValues::resolve(&dashboard(), &query, day("2026-03-10")).expect("resolves");
        let parameters = BTreeMap::from([("client".to_owned(), Some(DataType::Int64))]);
        assert!(values.bind(&parameters).is_err());
    }
}
