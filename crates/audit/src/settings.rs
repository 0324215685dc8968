//! `audits.toml`: each check's thresholds, with metrics.md's defaults. A key
//! left out keeps its default; an unknown key or a wrong type is an error
//! naming the file, line and key.

use std::path::Path;

use serde::Deserialize;

use crate::error::AuditError;

/// The audit settings file of a project.
pub const AUDITS_FILE: &str = "audits.toml";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    pub ga_visitors: GaVisitors,
    pub payments_reconcile: PaymentsReconcile,
    pub signups_xref: CrossReference,
    pub uploads_xref: CrossReference,
    pub log_completeness: LogCompleteness,
    pub parse_errors: ParseErrors,
    pub freshness: Freshness,
    pub anomaly: Anomaly,
    pub snapshot_gap: Switch,
    pub unknown_actions: Switch,
}

/// A check with no threshold: on or off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Switch {
    pub enabled: bool,
}

impl Default for Switch {
    fn default() -> Self {
        Self { enabled: true }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaVisitors {
    pub enabled: bool,
    /// How far the day's web_visitors / GA users may move from its median.
    pub max_change_percent: f64,
    /// The days before whose ratios give the median.
    pub history_days: u32,
    /// Fewer days of history than this: reported, not judged.
    pub min_history_days: u32,
}

impl Default for GaVisitors {
    fn default() -> Self {
        Self {
            enabled: true,
            max_change_percent: 5.0,
            history_days: 28,
            min_history_days: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsReconcile {
    pub enabled: bool,
    /// Providers whose export is compared with the warehouse, by name.
    pub providers: Vec<String>,
    /// At most this many transaction ids are listed in a finding's detail.
    pub max_listed_ids: usize,
}

impl Default for PaymentsReconcile {
    fn default() -> Self {
        Self {
            enabled: true,
            providers: vec!["stripe".into(), "paypal".into()],
            max_listed_ids: 20,
        }
    }
}

/// Two counts of one thing from two sources (logs and production).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrossReference {
    pub enabled: bool,
    pub max_difference_percent: f64,
}

impl Default for CrossReference {
    fn default() -> Self {
        Self {
            enabled: true,
            max_difference_percent: 0.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogCompleteness {
    pub enabled: bool,
    /// A server's share of an hour's lines below this part of its usual share fails.
    pub min_share_of_median: f64,
    /// The days before whose hours give a server's usual (median) share.
    pub trailing_days: u32,
    /// Hours where a server would be expected to write fewer lines than this
    /// are too quiet to judge by share (a missing file is still judged).
    pub min_expected_lines: u32,
}

impl Default for LogCompleteness {
    fn default() -> Self {
        Self {
            enabled: true,
            min_share_of_median: 0.5,
            trailing_days: 7,
            min_expected_lines: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParseErrors {
    pub enabled: bool,
    /// Rejected lines above this share of a day's lines warn; a corrupt file fails.
    pub warn_rejected_percent: f64,
}

impl Default for ParseErrors {
    fn default() -> Self {
        Self {
            enabled: true,
            warn_rejected_percent: 0.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Freshness {
    pub enabled: bool,
    /// Tables that must have rows for every finished day, each as `table.date_column`.
    pub tables: Vec<String>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            enabled: true,
            tables: vec![
                "raw_events.event_date".into(),
                "fact_page_views.event_date".into(),
                "daily_metrics.date".into(),
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Anomaly {
    pub enabled: bool,
    /// |robust z| above this warns: z = (x - median) / (1.4826 * MAD).
    pub max_robust_z: f64,
    /// Same weekdays before the day that make its history.
    pub weeks: u32,
    /// Fewer same weekdays than this: not judged.
    pub min_weeks: u32,
    /// A count's spread is at least this share of its usual value, so that a
    /// metric whose history is all alike does not warn on its first change.
    pub min_spread_percent: f64,
    /// The same for money and ratios, which swing more: a ratio of two small
    /// counts, a day of a few large sales.
    pub min_spread_percent_money_and_ratios: f64,
    /// Counts whose level (the median of the week before) is under this are
    /// not judged: too few events to tell a change from chance.
    pub min_level: f64,
}

impl Default for Anomaly {
    fn default() -> Self {
        Self {
            enabled: true,
            max_robust_z: 4.0,
            weeks: 8,
            min_weeks: 4,
            min_spread_percent: 5.0,
            min_spread_percent_money_and_ratios: 10.0,
            min_level: 20.0,
        }
    }
}

impl AuditSettings {
    /// The project's settings; metrics.md's defaults when the file does not exist.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, AuditError> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(0, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            AuditError::Settings {
                path: path.to_owned(),
                line,
                message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_holds_every_key_at_its_default() {
        let text = include_str!("../../../templates/photosite/audits.toml");
        let parsed = AuditSettings::parse(text, Path::new("audits.toml")).expect("template parses");
        assert_eq!(parsed, AuditSettings::default());
        // Every key is written out: the template without comments has as many
        // `key = value` lines as the settings have fields.
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#') && l.contains(" = "))
            .count();
        assert_eq!(keys, 28, "every setting is in the template");
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_names_file_line_and_key() {
        let unknown =
            AuditSettings::parse("[anomaly]\nmax_z = 3\n", Path::new("site/audits.toml")).expect_err("unknown key");
        let said = unknown.to_string();
        assert!(
            said.starts_with("site/audits.toml, line 2: unknown field `max_z`"),
            "{said}"
        );
        assert!(said.contains("`max_robust_z`"), "the keys it could have meant: {said}");
        let typed = AuditSettings::parse("[ga_visitors]\n\nhistory_days = \"four\"\n", Path::new("audits.toml"))
            .expect_err("wrong type");
        assert!(typed.to_string().starts_with("audits.toml, line 3: "), "{typed}");
        assert!(typed.to_string().contains("invalid type"), "{typed}");
    }
}
