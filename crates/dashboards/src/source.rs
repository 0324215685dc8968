//! A dashboard file's own words, as the app reads, changes and writes them back
//! (web.md: "Dashboards edited in the app can be written back to these files").
//!
//! The file is the truth: the app changes a [`DashboardSource`] and writes it
//! into the file as it stands (`edit.rs`: comments and layout kept), to a
//! temporary file renamed over the old one, so a reader never sees half of it.

use std::path::{Path, PathBuf};

use darkroom_charts::ChartKind;
use serde::{Deserialize, Serialize};

use crate::error::DashboardError;
use crate::file::{DASHBOARDS_DIR, Dashboard};

/// A filter as the file says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSource {
    pub name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_sql: Option<String>,
}

impl FilterSource {
    /// The `$names` this filter binds, as [`crate::Filter::binds`] (a kind
    /// other than `date_range` binds its name).
    pub fn binds(&self) -> Vec<String> {
        let kind = if self.kind == "date_range" {
            crate::FilterKind::DateRange
        } else {
            crate::FilterKind::Select
        };
        crate::file::binds(&self.name, kind)
    }
}

/// A chart as the file says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSource {
    pub id: String,
    pub title: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// count, cents, ratio or percent; by default the metric's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Grid columns the chart spans (1 or 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u8>,
    /// The column drawn along the x axis; by default the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The columns drawn as values; by default every column after x (and series).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y: Vec<String>,
    /// A column whose values name the series (rows in long form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    pub sql: String,
}

/// A whole dashboard file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSource {
    pub title: String,
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterSource>,
    #[serde(default)]
    pub charts: Vec<ChartSource>,
}

/// The teams a new dashboard may belong to (web.md's, and the funnels'), in
/// the order the index lists them.
pub const TEAMS: [&str; 9] = [
    "executive",
    "product",
    "web",
    "mobile",
    "marketing",
    "sales",
    "funnels",
    "audit",
    "pipeline",
];

/// Whether `name` can be a slug or a chart id: letters, digits, `-` and `_`.
pub fn is_slug(name: &str) -> bool {
    !name.is_empty() && name.len() <= 80 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A slug made from a title: `Weekly signups (web)` becomes `weekly-signups-web`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.len() > 60 { &slug[..60] } else { slug };
    if slug.is_empty() {
        "chart".to_owned()
    } else {
        slug.to_owned()
    }
}

impl DashboardSource {
    /// The source of `text`, a dashboard file's contents.
    pub fn parse(path: &Path, text: &str) -> Result<Self, DashboardError> {
        toml::from_str(text).map_err(|e| DashboardError::File {
            path: path.to_owned(),
            line: e.span().map_or(1, |span| {
                text.get(..span.start).map_or(1, |b| b.matches('\n').count() + 1)
            }),
            message: e.message().trim().to_owned(),
        })
    }

    /// The file's text: the dashboard's keys, then each filter and chart as a
    /// table of its own, SQL last and on lines of its own.
    pub fn to_toml(&self) -> Result<String, DashboardError> {
        toml::to_string_pretty(self).map_err(|e| DashboardError::Invalid {
            message: format!("cannot be written as TOML: {e}"),
        })
    }

    /// What makes a dashboard unfit to write, each with what to change: an
    /// unknown filter kind or chart kind, a chart id used twice, a width
    /// other than 1 or 2, a select filter without its options query.
    pub fn check(&self) -> Result<(), DashboardError> {
        let invalid = |message: String| Err(DashboardError::Invalid { message });
        if self.title.trim().is_empty() {
            return invalid("the title is empty".to_owned());
        }
        if self.team.trim().is_empty() {
            return invalid("the team is empty".to_owned());
        }
        for filter in &self.filters {
            if !is_slug(&filter.name) || filter.name.contains('-') {
                return invalid(format!(
                    "filter name {:?} is not a parameter name (letters, digits and _)",
                    filter.name
                ));
            }
            match filter.kind.as_str() {
                "date_range" => {}
                "select" if filter.options_sql.as_deref().is_some_and(|s| !s.trim().is_empty()) => {}
                "select" => return invalid(format!("filter `{}`: a select filter needs options_sql", filter.name)),
                other => {
                    return invalid(format!(
                        "filter `{}`: unknown kind {other:?}, expected date_range or select",
                        filter.name
                    ));
                }
            }
        }
        for (i, chart) in self.charts.iter().enumerate() {
            if !is_slug(&chart.id) {
                return invalid(format!(
                    "chart id {:?} is not made of letters, digits, - and _",
                    chart.id
                ));
            }
            if self.charts[..i].iter().any(|c| c.id == chart.id) {
                return invalid(format!("chart id `{}` is used twice", chart.id));
            }
            if chart.title.trim().is_empty() {
                return invalid(format!("chart `{}`: the title is empty", chart.id));
            }
            if ChartKind::parse(&chart.kind).is_none() {
                return invalid(format!(
                    "chart `{}`: unknown kind {:?}, expected one of {}",
                    chart.id,
                    chart.kind,
                    ChartKind::NAMES.join(", ")
                ));
            }
            if chart.sql.trim().is_empty() {
                return invalid(format!("chart `{}`: the SQL is empty", chart.id));
            }
            if chart.width.is_some_and(|w| !(1..=2).contains(&w)) {
                return invalid(format!("chart `{}`: width is 1 or 2 grid columns", chart.id));
            }
        }
        Ok(())
    }

    pub fn chart_mut(&mut self, id: &str) -> Option<&mut ChartSource> {
        self.charts.iter_mut().find(|c| c.id == id)
    }

    /// A chart id made from `title` that no chart of any dashboard in `taken` has.
    pub fn new_chart_id(slug: &str, title: &str, taken: &[String]) -> String {
        let base = format!("{slug}-{}", slugify(title));
        let mut id = base.clone();
        let mut n = 2;
        while taken.iter().any(|t| t == &id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }
}

/// Where the dashboard `slug` of the project in `project_dir` lives.
pub fn dashboard_path(project_dir: &Path, slug: &str) -> PathBuf {
    project_dir.join(DASHBOARDS_DIR).join(format!("{slug}.toml"))
}

/// Writes `text` as the dashboard file `path`, whole or not at all: a
/// temporary file beside it, then renamed over it. The text must load as a
/// dashboard first; the loaded dashboard is returned.
pub fn write_dashboard(path: &Path, text: &str) -> Result<Dashboard, DashboardError> {
    let dashboard = Dashboard::parse(path, text)?;
    let io = |source: std::io::Error| DashboardError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("dashboard.toml");
    let temporary = path.with_file_name(format!(".{name}.writing"));
    std::fs::write(&temporary, text).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        io(e)
    })?;
    Ok(dashboard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> DashboardSource {
        DashboardSource {
            title: "Growth".into(),
            team: "product".into(),
            description: None,
            filters: vec![FilterSource {
                name: "days".into(),
                kind: "date_range".into(),
                label: None,
                default: Some("last_28_days".into()),
                options_sql: None,
            }],
            charts: vec![ChartSource {
                id: "growth-signups".into(),
                title: "Signups".into(),
                kind: "line".into(),
                metric: None,
                description: None,
                format: None,
                width: Some(2),
                x: Some("date".into()),
                y: vec!["value".into()],
                series: None,
                sql: "SELECT date, value\nFROM daily_metrics\nWHERE metric = 'signups' AND date BETWEEN $days_start AND $days_end".into(),
            }],
        }
    }

    #[test]
    fn a_written_source_loads_as_the_same_dashboard_and_the_same_source() {
        let text = source().to_toml().expect("toml");
        let path = Path::new("dashboards/growth.toml");
        assert_eq!(DashboardSource::parse(path, &text).expect("parses"), source());
        let dashboard = Dashboard::parse(path, &text).expect("loads");
        assert!(dashboard.problems.is_empty(), "{:?}", dashboard.problems);
        let chart = &dashboard.charts[0];
        assert_eq!(chart.problem, None);
        assert_eq!(
            (chart.x.as_deref(), chart.y.as_slice(), chart.width),
            (Some("date"), &["value".to_owned()][..], 2)
        );
        // The SQL keeps its lines, so a diff of two versions reads line by line.
        assert!(text.contains("FROM daily_metrics\n"), "{text}");
    }

    #[test]
    fn check_names_what_to_change() {
        let mut bad = source();
        bad.charts[0].kind = "pie".into();
        assert_eq!(
            bad.check().expect_err("unknown kind").to_string(),
            "the dashboard cannot be saved: chart `growth-signups`: unknown kind \"pie\", expected one of line, bar, area, number, table, funnel"
        );
        let mut twice = source();
        twice.charts.push(twice.charts[0].clone());
        assert!(twice.check().expect_err("same id").to_string().contains("used twice"));
        let mut team = source();
        team.team = String::new();
        assert!(
            team.check()
                .expect_err("team")
                .to_string()
                .contains("the team is empty")
        );
        assert!(source().check().is_ok());
    }

    #[test]
    fn new_chart_ids_are_slugs_and_never_taken() {
        let taken = vec!["growth-weekly-signups-web".to_owned()];
        assert_eq!(
            DashboardSource::new_chart_id("growth", "Weekly signups (web)", &taken),
            "growth-weekly-signups-web-2"
        );
        assert_eq!(slugify("  ÉÉ "), "chart");
    }

    #[test]
    fn a_file_is_replaced_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dashboard_path(dir.path(), "growth");
        write_dashboard(&path, &source().to_toml().expect("toml")).expect("writes");
        let error = write_dashboard(&path, "title = ").expect_err("not TOML");
        assert!(error.to_string().contains("growth.toml, line 1"), "{error}");
        let kept = std::fs::read_to_string(&path).expect("still there");
        assert_eq!(DashboardSource::parse(&path, &kept).expect("parses"), source());
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }
}
