//! A dashboard file, `dashboards/SLUG.toml` (web.md, "Dashboards as files").
//!
//! A mistake in one chart (an unknown key, an unknown kind) is kept on that
//! chart, with the file and line, and the rest of the dashboard still loads;
//! only a file that is not TOML, or a mistake outside the charts, makes the
//! whole dashboard an error.

use std::path::{Path, PathBuf};

use darkroom_charts::{ChartKind, NumberFormat};
use darkroom_metrics::sentence_case;
use serde::Deserialize;

use crate::error::DashboardError;
use crate::source::{ChartSource, FilterSource};

/// The folder of dashboard files in a project.
pub const DASHBOARDS_DIR: &str = "dashboards";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardToml {
    title: String,
    team: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    filters: Vec<toml::Spanned<toml::Table>>,
    #[serde(default)]
    charts: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// Binds `$NAME_start` and `$NAME_end` as dates.
    DateRange,
    /// Binds `$NAME`, one of the values of `options_sql` (or `all`).
    Select,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub name: String,
    pub label: String,
    pub kind: FilterKind,
    pub default: Option<String>,
    pub options_sql: Option<String>,
}

/// The `$names` a filter of `kind` named `name` binds, without the `$`.
pub(crate) fn binds(name: &str, kind: FilterKind) -> Vec<String> {
    match kind {
        FilterKind::DateRange => vec![format!("{name}_start"), format!("{name}_end")],
        FilterKind::Select => vec![name.to_owned()],
    }
}

impl Filter {
    /// The `$names` this filter binds, without the `$`.
    pub fn binds(&self) -> Vec<String> {
        binds(&self.name, self.kind)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub id: String,
    pub title: String,
    /// `None` when the file names a kind that does not exist (see `problem`).
    pub kind: Option<ChartKind>,
    pub sql: String,
    pub metric: Option<String>,
    pub description: Option<String>,
    pub format: Option<NumberFormat>,
    pub width: u8,
    /// The columns drawn, when the file names them (see [`ChartSource`]).
    pub x: Option<String>,
    pub y: Vec<String>,
    pub series: Option<String>,
    /// The line of its `[[charts]]` in the file.
    pub line: usize,
    /// What is wrong with it in the file, with the file and line.
    pub problem: Option<String>,
}

impl Chart {
    /// How the chart is drawn, the same on the page, in the email and in Slack:
    /// its kind (a table when the file's kind is unknown), its title, and how its
    /// numbers read (its own `format`, else its metric's unit).
    pub fn spec(&self, catalog: Option<&darkroom_metrics::Catalog>) -> darkroom_charts::ChartSpec {
        let format = self.format.unwrap_or_else(|| {
            self.metric
                .as_deref()
                .and_then(|m| catalog?.metric(m))
                .map_or(NumberFormat::Count, |m| NumberFormat::of_unit(m.unit.name()))
        });
        darkroom_charts::ChartSpec {
            kind: self.kind.unwrap_or(ChartKind::Table),
            title: self.title.clone(),
            format,
        }
    }
}

impl Chart {
    /// The rows as the chart draws them: its `x`, `series` and `y` columns in
    /// that order when the file names them, else as the query gave them.
    pub fn drawn_table(&self, rows: &crate::ChartRows) -> Result<darkroom_charts::Table, darkroom_charts::ChartError> {
        rows.table()
            .pick(&self.title, self.x.as_deref(), self.series.as_deref(), &self.y)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub slug: String,
    pub path: PathBuf,
    pub title: String,
    pub team: String,
    pub description: Option<String>,
    pub filters: Vec<Filter>,
    pub charts: Vec<Chart>,
    /// Mistakes outside the charts that did not stop it loading (a filter of an unknown kind).
    pub problems: Vec<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| before.matches('\n').count() + 1)
}

impl Dashboard {
    pub fn load(path: &Path) -> Result<Self, DashboardError> {
        let text = std::fs::read_to_string(path).map_err(|source| DashboardError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, DashboardError> {
        let file_error = |line: usize, message: String| DashboardError::File {
            path: path.to_owned(),
            line,
            message,
        };
        let parsed: DashboardToml = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |span| line_of(text, span.start));
            file_error(line, e.message().trim().to_owned())
        })?;
        let slug = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        if slug.is_empty() || !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(file_error(
                1,
                format!("the file name {slug:?} is not a slug (letters, digits, - and _): rename the file"),
            ));
        }
        let where_ = |line: usize| format!("{}, line {line}", path.display());
        let mut problems = Vec::new();
        let mut filters: Vec<Filter> = Vec::new();
        let mut filter_lines = Vec::new();
        for spanned in parsed.filters {
            let line = line_of(text, spanned.span().start);
            match toml::Value::Table(spanned.into_inner()).try_into::<FilterSource>() {
                Ok(filter) => {
                    let kind = match filter.kind.as_str() {
                        "date_range" => FilterKind::DateRange,
                        "select" => FilterKind::Select,
                        other => {
                            problems.push(format!(
                                "{}: filter `{}`: unknown kind {other:?}, expected date_range or select",
                                where_(line),
                                filter.name
                            ));
                            continue;
                        }
                    };
                    if kind == FilterKind::Select && filter.options_sql.is_none() {
                        problems.push(format!(
                            "{}: filter `{}`: a select filter needs options_sql, the query of its values",
                            where_(line),
                            filter.name
                        ));
                    }
                    filter_lines.push(line);
                    filters.push(Filter {
                        label: filter.label.unwrap_or_else(|| sentence_case(&filter.name)),
                        name: filter.name,
                        kind,
                        default: filter.default,
                        options_sql: filter.options_sql,
                    });
                }
                Err(e) => problems.push(format!("{}: a filter: {}", where_(line), e.message().trim())),
            }
        }
        let mut charts: Vec<Chart> = Vec::new();
        for (index, spanned) in parsed.charts.into_iter().enumerate() {
            let line = line_of(text, spanned.span().start);
            let table = spanned.into_inner();
            let fallback_id = table
                .get("id")
                .and_then(toml::Value::as_str)
                .map_or_else(|| format!("{slug}-{}", index + 1), str::to_owned);
            let chart = match toml::Value::Table(table).try_into::<ChartSource>() {
                Ok(chart) => {
                    let kind = ChartKind::parse(&chart.kind);
                    let format = chart.format.as_deref().map(NumberFormat::of_unit);
                    let problem = if kind.is_none() {
                        Some(format!(
                            "{}: chart `{}`: unknown kind {:?}, expected one of {}",
                            where_(line),
                            chart.id,
                            chart.kind,
                            ChartKind::NAMES.join(", ")
                        ))
                    } else {
                        None
                    };
                    Chart {
                        id: chart.id,
                        title: chart.title,
                        kind,
                        sql: chart.sql,
                        metric: chart.metric,
                        description: chart.description,
                        format,
                        width: chart.width.unwrap_or(1).clamp(1, 2),
                        x: chart.x,
                        y: chart.y,
                        series: chart.series,
                        line,
                        problem,
                    }
                }
                Err(e) => Chart {
                    problem: Some(format!(
                        "{}: chart `{fallback_id}`: {}",
                        where_(line),
                        e.message().trim()
                    )),
                    id: fallback_id.clone(),
                    title: fallback_id,
                    kind: None,
                    sql: String::new(),
                    metric: None,
                    description: None,
                    format: None,
                    width: 1,
                    x: None,
                    y: Vec::new(),
                    series: None,
                    line,
                },
            };
            if charts.iter().any(|c| c.id == chart.id) {
                problems.push(format!(
                    "{}: chart id `{}` is used twice in this file; the second is left out",
                    where_(line),
                    chart.id
                ));
                continue;
            }
            charts.push(chart);
        }
        for (filter, line) in filters.iter().zip(&filter_lines) {
            let used = filter
                .binds()
                .iter()
                .any(|name| charts.iter().any(|chart| uses_parameter(&chart.sql, name)));
            if !used {
                problems.push(format!(
                    "{}: filter `{}` binds {}, which no chart's SQL uses",
                    where_(*line),
                    filter.name,
                    filter
                        .binds()
                        .iter()
                        .map(|b| format!("${b}"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
        }
        Ok(Self {
            slug,
            path: path.to_owned(),
            title: parsed.title,
            team: parsed.team,
            description: parsed.description,
            filters,
            charts,
            problems,
        })
    }

    pub fn chart(&self, id: &str) -> Option<&Chart> {
        self.charts.iter().find(|c| c.id == id)
    }

    /// The `$names` bound by this dashboard's filters, without the `$`.
    pub fn bound_names(&self) -> Vec<String> {
        self.filters.iter().flat_map(Filter::binds).collect()
    }
}

/// Whether `sql` names the parameter `$name` (not merely a longer one, `$name_x`).
fn uses_parameter(sql: &str, name: &str) -> bool {
    let wanted = format!("${name}");
    sql.match_indices(&wanted).any(|(at, _)| {
        !sql[at + wanted.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Every `*.toml` in `dir`, by slug; a file that does not load is its error.
pub fn load_dir(dir: &Path) -> Vec<Result<Dashboard, DashboardError>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Dashboard::load(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"title = "Product"
team = "product"

[[filters]]
name = "days"
kind = "date_range"
default = "last_28_days"

[[charts]]
id = "dau"
title = "Daily active users"
kind = "line"
metric = "dau"
sql = "SELECT date, value FROM daily_metrics WHERE metric = 'dau'"

[[charts]]
id = "bad-kind"
title = "Pie"
kind = "pie"
sql = "SELECT 1"

[[charts]]
id = "bad-key"
title = "Colourful"
kind = "line"
colour = "red"
sql = "SELECT 1"
"#;

    #[test]
    fn a_chart_with_a_mistake_keeps_its_error_and_line_and_the_rest_loads() {
        let dashboard = Dashboard::parse(Path::new("dashboards/product.toml"), GOOD).expect("loads");
        assert_eq!(dashboard.slug, "product");
        assert_eq!(dashboard.bound_names(), ["days_start", "days_end"]);
        assert_eq!(dashboard.charts.len(), 3);
        assert_eq!(dashboard.charts[0].problem, None);
        assert_eq!(dashboard.charts[0].kind, Some(ChartKind::Line));
        let pie = dashboard.charts[1].problem.as_deref().expect("unknown kind");
        assert!(
            pie.starts_with("dashboards/product.toml, line 16: chart `bad-kind`: unknown kind \"pie\""),
            "{pie}"
        );
        let key = dashboard.charts[2].problem.as_deref().expect("unknown key");
        assert!(key.contains("line 22") && key.contains("colour"), "{key}");
    }

    #[test]
    fn an_unknown_key_outside_the_charts_is_the_file_s_error_with_its_line() {
        let text = "title = \"x\"\nteam = \"product\"\ncolour = 1\n";
        let error = Dashboard::parse(Path::new("dashboards/x.toml"), text).expect_err("unknown key");
        assert!(
            error
                .to_string()
                .starts_with("dashboards/x.toml, line 3: unknown field `colour`"),
            "{error}"
        );
    }
}
