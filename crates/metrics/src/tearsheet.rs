//! The executive tearsheet: five complete ISO weeks of daily averages, the plan
//! beside each number, grouped by owning team; rendered as a printable HTML
//! page, CSV, or a two-sheet XLSX (numbers, definitions).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use datafusion::prelude::SessionContext;
use maud::{DOCTYPE, Markup, html};

use crate::catalog::{Catalog, Metric, Team, Unit};
use crate::daily::{DAILY_METRICS, values_of};
use crate::error::MetricsError;
use crate::plan::Plan;

pub const WEEKS: usize = 5;

/// One metric in one week.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The average of the days with a value, in the shown unit (dollars for cents).
    pub actual: Option<f64>,
    /// Days of the week with a value (7 in a complete week).
    pub days: u32,
    pub plan: Option<f64>,
    /// (actual - plan) / plan, in percent.
    pub diff_percent: Option<f64>,
    /// Audit checks that feed the metric and failed on a day of the week.
    pub failed_checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    /// What people read ("Paid subscribers").
    pub label: String,
    pub unit: Unit,
    pub definition: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamSection {
    pub team: Team,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tearsheet {
    /// The Mondays of the five weeks, oldest first.
    pub weeks: Vec<NaiveDate>,
    pub teams: Vec<TeamSection>,
    /// Every metric, for the definitions sheet: name, team, stage, unit, definition, SQL.
    pub definitions: Vec<[String; 6]>,
}

/// The Monday after the last complete ISO week on or before `last_day`.
pub fn week_after_last_complete(last_day: NaiveDate) -> NaiveDate {
    let monday = last_day - Duration::days(i64::from(last_day.weekday().num_days_from_monday()));
    if last_day.weekday() == Weekday::Sun {
        monday + Duration::days(7)
    } else {
        monday
    }
}

/// Checks `--week`: a Monday.
pub fn parse_week(text: &str) -> Result<NaiveDate, MetricsError> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| MetricsError::BadWeek {
        value: text.to_owned(),
        message: "not a date".into(),
    })?;
    if date.weekday() != Weekday::Mon {
        return Err(MetricsError::BadWeek {
            value: text.to_owned(),
            message: format!("a {}, not a Monday", date.format("%A")),
        });
    }
    Ok(date)
}

/// The last day `daily_metrics` holds, if any.
pub async fn last_metric_day(ctx: &SessionContext) -> Result<Option<NaiveDate>, MetricsError> {
    let query = |e: datafusion::error::DataFusionError| MetricsError::Query {
        doing: "finding the last day of daily_metrics".into(),
        message: e.to_string(),
    };
    if !ctx.table_exist(DAILY_METRICS).map_err(query)? {
        return Ok(None);
    }
    let batches = ctx
        .sql(&format!(
            "SELECT date, 'last' AS metric, 0.0 AS value FROM {DAILY_METRICS} ORDER BY date DESC LIMIT 1"
        ))
        .await
        .map_err(query)?
        .collect()
        .await
        .map_err(query)?;
    Ok(values_of(&batches)?.keys().next().map(|(day, _)| epoch_day(*day)))
}

fn epoch_day(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + Duration::days(i64::from(day))
}

fn day_number(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((date - epoch).num_days()).unwrap_or_default()
}

impl Tearsheet {
    /// The five weeks before `end_monday`, from `daily_metrics` in `ctx`.
    pub async fn build(
        ctx: &SessionContext,
        catalog: &Catalog,
        plan: &Plan,
        end_monday: NaiveDate,
    ) -> Result<Self, MetricsError> {
        let first = end_monday - Duration::days(7 * WEEKS as i64);
        let last = end_monday - Duration::days(1);
        let no_data = || MetricsError::NoData {
            first: first.to_string(),
            last: last.to_string(),
        };
        let query = |e: datafusion::error::DataFusionError| MetricsError::Query {
            doing: "reading daily_metrics for the tearsheet".into(),
            message: e.to_string(),
        };
        if !ctx.table_exist(DAILY_METRICS).map_err(query)? {
            return Err(no_data());
        }
        let sql = format!(
            "SELECT date, metric, value FROM {DAILY_METRICS} WHERE date >= DATE '{first}' AND date <= DATE '{last}'"
        );
        let batches = ctx.sql(&sql).await.map_err(query)?.collect().await.map_err(query)?;
        let values = values_of(&batches)?;
        if values.is_empty() {
            return Err(no_data());
        }
        let weeks: Vec<NaiveDate> = (0..WEEKS).map(|w| first + Duration::days(7 * w as i64)).collect();
        let failures = failed_checks(ctx, first, last).await?;
        let mut by_team: BTreeMap<Team, Vec<Row>> = BTreeMap::new();
        for metric in &catalog.metrics {
            let cells = weeks
                .iter()
                .map(|monday| {
                    let mut cell = week_cell(metric, *monday, &values, plan);
                    let days = day_number(*monday)..day_number(*monday) + 7;
                    let mut checks: Vec<String> = failures
                        .iter()
                        .filter(|(day, check)| days.contains(day) && audit_feeds(check, metric))
                        .map(|(_, check)| check.clone())
                        .collect();
                    checks.sort();
                    checks.dedup();
                    cell.failed_checks = checks;
                    cell
                })
                .collect();
            by_team.entry(metric.team).or_default().push(Row {
                metric: metric.name.clone(),
                label: metric.label.clone(),
                unit: metric.unit,
                definition: metric.definition.clone(),
                cells,
            });
        }
        Ok(Self {
            weeks,
            teams: by_team
                .into_iter()
                .map(|(team, rows)| TeamSection { team, rows })
                .collect(),
            definitions: catalog
                .metrics
                .iter()
                .map(|m| {
                    [
                        m.name.clone(),
                        m.team.name().to_owned(),
                        m.stage.name().to_owned(),
                        m.unit.name().to_owned(),
                        m.definition.clone(),
                        m.display_sql(),
                    ]
                })
                .collect(),
        })
    }

    /// Weeks with no value of any metric.
    pub fn empty_weeks(&self) -> Vec<NaiveDate> {
        self.weeks
            .iter()
            .enumerate()
            .filter(|(i, _)| self.teams.iter().flat_map(|t| &t.rows).all(|r| r.cells[*i].days == 0))
            .map(|(_, w)| *w)
            .collect()
    }

    pub fn title(&self) -> String {
        let last = self.weeks.last().copied().unwrap_or_default() + Duration::days(6);
        format!(
            "Executive tearsheet: weeks {} to {}",
            self.weeks.first().copied().unwrap_or_default(),
            last
        )
    }

    pub fn to_html(&self) -> String {
        page(self).into_string()
    }

    /// One row per metric and week: `team,metric,unit,week_start,days,actual,plan,diff_percent,failed_audits`
    /// (the audit checks feeding the metric that failed that week, `;`-separated).
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut rows = vec![vec![
            "team".to_owned(),
            "metric".to_owned(),
            "unit".to_owned(),
            "week_start".to_owned(),
            "days".to_owned(),
            "actual".to_owned(),
            "plan".to_owned(),
            "diff_percent".to_owned(),
            "failed_audits".to_owned(),
        ]];
        for section in &self.teams {
            for row in &section.rows {
                for (week, cell) in self.weeks.iter().zip(&row.cells) {
                    rows.push(vec![
                        section.team.name().to_owned(),
                        row.metric.clone(),
                        shown_unit(row.unit).to_owned(),
                        week.to_string(),
                        cell.days.to_string(),
                        cell.actual.map(|v| plain(v, row.unit)).unwrap_or_default(),
                        cell.plan.map(|v| plain(v, row.unit)).unwrap_or_default(),
                        cell.diff_percent.map(|v| format!("{v:.1}")).unwrap_or_default(),
                        cell.failed_checks.join(";"),
                    ]);
                }
            }
        }
        for row in rows {
            // Writing to a Vec cannot fail.
            let _ = writer.write_record(&row);
        }
        writer
            .into_inner()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The two-sheet workbook: Tearsheet (numbers) and Definitions.
    pub fn write_xlsx(&self, path: &Path) -> Result<(), MetricsError> {
        let bytes = self.build_xlsx().map_err(|e| MetricsError::Xlsx {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        std::fs::write(path, bytes).map_err(|e| MetricsError::Xlsx {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The workbook of [`Self::write_xlsx`] in memory (a download).
    pub fn xlsx_bytes(&self) -> Result<Vec<u8>, MetricsError> {
        self.build_xlsx().map_err(|e| MetricsError::Xlsx {
            path: Path::new("tearsheet.xlsx").to_owned(),
            message: e.to_string(),
        })
    }

    fn build_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let title = Format::new().set_bold().set_font_size(14);
        let number = Format::new().set_num_format("#,##0.0");
        let dollars = Format::new().set_num_format("$#,##0.00");
        let ratio = Format::new().set_num_format("0.00");
        let percent = Format::new().set_num_format("+0.0\"%\";-0.0\"%\"");

        let sheet = workbook.add_worksheet().set_name("Tearsheet")?;
        sheet.write_string_with_format(0, 0, self.title(), &title)?;
        sheet.write_string_with_format(2, 0, "metric", &bold)?;
        sheet.write_string_with_format(2, 1, "unit", &bold)?;
        for (i, week) in self.weeks.iter().enumerate() {
            let column = 2 + 3 * i as u16;
            sheet.write_string_with_format(1, column, format!("week of {week}"), &bold)?;
            sheet.write_string_with_format(2, column, "actual", &bold)?;
            sheet.write_string_with_format(2, column + 1, "plan", &bold)?;
            sheet.write_string_with_format(2, column + 2, "vs plan", &bold)?;
        }
        let mut line = 3;
        for section in &self.teams {
            sheet.write_string_with_format(line, 0, section.team.name(), &bold)?;
            line += 1;
            for row in &section.rows {
                let format = match row.unit {
                    Unit::Cents => &dollars,
                    Unit::Ratio => &ratio,
                    Unit::Count | Unit::Users => &number,
                };
                sheet.write_string(line, 0, &row.metric)?;
                sheet.write_string(line, 1, shown_unit(row.unit))?;
                for (i, cell) in row.cells.iter().enumerate() {
                    let column = 2 + 3 * i as u16;
                    if let Some(v) = cell.actual {
                        sheet.write_number_with_format(line, column, v, format)?;
                    } else {
                        sheet.write_string(line, column, "no data")?;
                    }
                    if !cell.failed_checks.is_empty() {
                        let note = rust_xlsxwriter::Note::new(format!(
                            "Failed audit that week: {} (see audit_results)",
                            cell.failed_checks.join(", ")
                        ))
                        .set_author("darkroom");
                        sheet.insert_note(line, column, &note)?;
                    }
                    if let Some(v) = cell.plan {
                        sheet.write_number_with_format(line, column + 1, v, format)?;
                    }
                    if let Some(v) = cell.diff_percent {
                        sheet.write_number_with_format(line, column + 2, v, &percent)?;
                    }
                }
                line += 1;
            }
        }
        sheet.set_column_width(0, 34)?;

        let definitions = workbook.add_worksheet().set_name("Definitions")?;
        for (i, name) in ["metric", "team", "stage", "unit", "definition", "SQL"]
            .iter()
            .enumerate()
        {
            definitions.write_string_with_format(0, i as u16, *name, &bold)?;
        }
        for (r, row) in self.definitions.iter().enumerate() {
            for (c, text) in row.iter().enumerate() {
                definitions.write_string(1 + r as u32, c as u16, text)?;
            }
        }
        definitions.set_column_width(0, 34)?;
        definitions.set_column_width(4, 80)?;
        workbook.save_to_buffer()
    }
}

/// (day, check) of every failed audit from `first` to `last`; none when the
/// warehouse has no audit results yet.
async fn failed_checks(
    ctx: &SessionContext,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(i32, String)>, MetricsError> {
    let query = |e: datafusion::error::DataFusionError| MetricsError::Query {
        doing: "reading audit_results for the tearsheet".into(),
        message: e.to_string(),
    };
    if !ctx.table_exist(AUDIT_RESULTS).map_err(query)? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT CAST(audit_date AS INT), CAST(\"check\" AS VARCHAR) FROM {AUDIT_RESULTS}
         WHERE status = 'fail' AND audit_date >= DATE '{first}' AND audit_date <= DATE '{last}'"
    );
    let batches = ctx.sql(&sql).await.map_err(query)?.collect().await.map_err(query)?;
    let mut failed = Vec::new();
    for batch in &batches {
        let days = batch.column(0).as_any().downcast_ref::<arrow::array::Int32Array>();
        let checks =
            arrow::compute::cast(batch.column(1), &arrow::datatypes::DataType::Utf8).map_err(|e| query(e.into()))?;
        let checks = checks.as_any().downcast_ref::<arrow::array::StringArray>();
        let (Some(days), Some(checks)) = (days, checks) else {
            continue;
        };
        for i in 0..batch.num_rows() {
            failed.push((days.value(i), checks.value(i).to_owned()));
        }
    }
    Ok(failed)
}

/// The table of audit findings the nightly run writes.
const AUDIT_RESULTS: &str = "audit_results";

/// Tables whose rows come from the API logs.
const LOG_TABLES: [&str; 11] = [
    "raw_events",
    "fact_page_views",
    "fact_signups",
    "fact_logins",
    "fact_photo_views",
    "fact_likes",
    "fact_favourites",
    "fact_comments",
    "fact_follows",
    "fact_uploads",
    "fact_marketplace_submissions",
];

/// Whether a failure of audit `check` puts `metric`'s number in doubt.
pub fn audit_feeds(check: &str, metric: &Metric) -> bool {
    let reads = |tables: &[&str]| metric.reads.iter().any(|r| tables.contains(&r.as_str()));
    let named = |names: &[&str]| names.contains(&metric.name.as_str());
    match check {
        "signups_xref" => named(&["signups", "signup_events"]),
        "uploads_xref" => named(&["uploads", "photos_created", "uploaders"]),
        "ga_visitors" => named(&["visitors", "web_visitors"]),
        "payments_reconcile" => reads(&["fact_subscription_purchases", "fact_stock_purchases"]),
        "snapshot_gap" => reads(&["fact_subscriber_snapshots", "fact_subscription_purchases"]),
        "log_completeness" | "parse_errors" => reads(&LOG_TABLES),
        "freshness" => true,
        _ => false,
    }
}

fn week_cell(metric: &Metric, monday: NaiveDate, values: &crate::daily::DayValues, plan: &Plan) -> Cell {
    let start = day_number(monday);
    let daily: Vec<f64> = (start..start + 7)
        .filter_map(|day| values.get(&(day, metric.name.clone())).copied().flatten())
        .collect();
    let days = (start..start + 7)
        .filter(|day| values.contains_key(&(*day, metric.name.clone())))
        .count() as u32;
    let scale = if metric.unit == Unit::Cents { 100.0 } else { 1.0 };
    let actual = (!daily.is_empty()).then(|| daily.iter().sum::<f64>() / daily.len() as f64 / scale);
    let plan = plan.value(&metric.name, monday).map(|v| v / scale);
    let diff_percent = match (actual, plan) {
        (Some(a), Some(p)) if p != 0.0 => Some((a - p) / p * 100.0),
        _ => None,
    };
    Cell {
        actual,
        days,
        plan,
        diff_percent,
        failed_checks: Vec::new(),
    }
}

fn shown_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Cents => "dollars",
        other => other.name(),
    }
}

/// A number as a CSV cell: dollars with cents, others to 2 decimals.
fn plain(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Cents | Unit::Ratio => format!("{value:.2}"),
        Unit::Count | Unit::Users => format!("{value:.1}"),
    }
}

/// A number for people: thousands separated; dollars with a `$`.
fn shown(value: f64, unit: Unit) -> String {
    let text = plain(value.abs(), unit);
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let dollar = if unit == Unit::Cents { "$" } else { "" };
    let mut out = format!("{sign}{dollar}{grouped}");
    if !fraction.is_empty() {
        let _ = write!(out, ".{fraction}");
    }
    out
}

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1d232a; margin: 2rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
p.note { color: #5b6570; margin: 0 0 1rem; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .82rem; }
th, td { padding: .3rem .45rem; border-bottom: 1px solid #e3e7eb; text-align: right; white-space: nowrap; }
th { background: #f4f6f8; font-weight: 600; }
td.metric, th.metric { text-align: left; }
td.metric span { display: block; color: #6b7580; font-size: .72rem; white-space: normal; max-width: 26rem; }
tr.team th { text-align: left; background: #1d232a; color: #fff; text-transform: capitalize; }
.above { color: #17733a; } .below { color: #b3261e; } .nodata { color: #9aa3ab; }
td.plan, th.plan { color: #5b6570; }
dl { font-size: .8rem; columns: 2; } dt { font-weight: 600; } dd { margin: 0 0 .4rem; color: #5b6570; }
@media print { body { margin: 0; } @page { size: A4 landscape; margin: 12mm; } tr { break-inside: avoid; } }
";

fn page(sheet: &Tearsheet) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (sheet.title()) }
                style { (STYLE) }
            }
            body {
                h1 { (sheet.title()) }
                p.note {
                    "Daily averages by ISO week (Monday to Sunday); money in dollars. "
                    "Beside each number: the plan for that week and the difference in percent. "
                    "A week marked with its number of days had fewer than seven days of data."
                }
                @let empty = sheet.empty_weeks();
                @if !empty.is_empty() {
                    p.note {
                        "No data for the week(s) of "
                        (empty.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
                        ": those cells say so instead of showing zeros."
                    }
                }
                table {
                    thead {
                        tr {
                            th.metric rowspan="2" { "metric" }
                            @for week in &sheet.weeks {
                                th colspan="3" { "week of " (week) }
                            }
                        }
                        tr {
                            @for _ in &sheet.weeks {
                                th { "actual" } th.plan { "plan" } th { "vs plan" }
                            }
                        }
                    }
                    tbody {
                        @for section in &sheet.teams {
                            tr.team { th colspan=(1 + 3 * sheet.weeks.len()) { (section.team.name()) } }
                            @for row in &section.rows {
                                tr {
                                    td.metric title=(row.metric) { (row.label) span { (row.definition) } }
                                    @for cell in &row.cells {
                                        @match cell.actual {
                                            Some(v) => td {
                                                (shown(v, row.unit))
                                                @if cell.days < 7 { " (" (cell.days) "d)" }
                                                @if !cell.failed_checks.is_empty() {
                                                    " " span.audit title={ "failed audit that week: " (cell.failed_checks.join(", ")) } {
                                                        "failed: " (cell.failed_checks.join(", "))
                                                    }
                                                }
                                            },
                                            None => td.nodata { "no data" },
                                        }
                                        td.plan { (cell.plan.map(|v| shown(v, row.unit)).unwrap_or_default()) }
                                        @match cell.diff_percent {
                                            Some(d) if d >= 0.0 => td.above { (format!("+{d:.1}%")) },
                                            Some(d) => td.below { (format!("{d:.1}%")) },
                                            None => td {},
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Definitions" }
                dl {
                    @for [name, team, stage, unit, definition, _] in &sheet.definitions {
                        dt { (name) }
                        dd { (definition) " (" (team) ", " (stage) ", " (unit) ")" }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_week_ends_after_the_last_complete_week() {
        let sunday = NaiveDate::from_ymd_opt(2015, 3, 8).unwrap_or_default();
        let monday_after = NaiveDate::from_ymd_opt(2015, 3, 9).unwrap_or_default();
        assert_eq!(week_after_last_complete(sunday), monday_after);
        let saturday = NaiveDate::from_ymd_opt(2015, 3, 7).unwrap_or_default();
        assert_eq!(
            week_after_last_complete(saturday),
            NaiveDate::from_ymd_opt(2015, 3, 2).unwrap_or_default()
        );
    }

    #[test]
    fn numbers_for_people_group_thousands_and_show_dollars() {
        assert_eq!(shown(1_234_567.891, Unit::Cents), "$1,234,567.89");
        assert_eq!(shown(-950.0, Unit::Count), "-950.0");
        assert_eq!(shown(12.0, Unit::Users), "12.0");
    }
}
