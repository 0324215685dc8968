//! `log_completeness`: every API server archives a file every hour. A server
//! whose file for an hour is missing while it wrote the hours around it, or
//! whose share of the hour's lines falls under half its usual share, lost logs.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, day_date, median, number, rows};
use crate::settings::LogCompleteness;

pub const CHECK: &str = "log_completeness";
/// How far under its expected lines a server must be, in binomial standard
/// deviations, before a thin hour is more than chance.
const SHORTFALL_SIGMAS: f64 = 4.0;

/// (day, hour) -> server -> lines.
type Hours = BTreeMap<(i32, u32), BTreeMap<String, f64>>;

pub async fn run(ctx: &SessionContext, day: i32, settings: &LogCompleteness) -> Result<Vec<Finding>, AuditError> {
    let first = day - i32::try_from(settings.trailing_days).unwrap_or(i32::MAX);
    let sql = format!(
        "SELECT CAST(CAST(file_hour AS DATE) AS INT), CAST(date_part('hour', file_hour) AS INT), server, sum(lines)
         FROM etl_log_files
         WHERE duplicate_of IS NULL AND file_hour IS NOT NULL
           AND CAST(file_hour AS DATE) BETWEEN {} AND {}
         GROUP BY 1, 2, 3",
        date_literal(first),
        date_literal(day + 1)
    );
    let mut hours = Hours::new();
    for row in rows(ctx, "reading etl_log_files", &sql).await? {
        let (Some(d), Some(h), Some(server), Some(lines)) =
            (number(&row[0]), number(&row[1]), row[2].clone(), number(&row[3]))
        else {
            continue;
        };
        hours.entry((d as i32, h as u32)).or_default().insert(server, lines);
    }
    Ok(judge(day, &hours, settings))
}

fn share(hour: &BTreeMap<String, f64>, server: &str) -> Option<f64> {
    let total: f64 = hour.values().sum();
    (total > 0.0).then(|| hour.get(server).copied().unwrap_or(0.0) / total)
}

fn neighbour(day: i32, hour: u32, step: i32) -> (i32, u32) {
    let index = i64::from(day) * 24 + i64::from(hour) + i64::from(step);
    (index.div_euclid(24) as i32, index.rem_euclid(24) as u32)
}

fn judge(day: i32, hours: &Hours, settings: &LogCompleteness) -> Vec<Finding> {
    let servers: BTreeSet<&String> = hours.values().flat_map(BTreeMap::keys).collect();
    let mut findings = Vec::new();
    for server in servers {
        // The server's usual share: the median over every hour of the window with lines.
        let shares: Vec<f64> = hours.values().filter_map(|hour| share(hour, server)).collect();
        let usual = median(&shares).unwrap_or(0.0);
        let mut problems = Vec::new();
        let mut lowest: Option<f64> = None;
        for hour in 0..24 {
            let key = (day, hour);
            let lines_at = |key: (i32, u32)| hours.get(&key).and_then(|h| h.get(server.as_str())).copied();
            let here = hours.get(&key);
            let has_file = here.is_some_and(|h| h.contains_key(server.as_str()));
            let at = format!("{} {hour:02}:00", day_date(day));
            if !has_file {
                let before = lines_at(neighbour(day, hour, -1)).unwrap_or(0.0);
                let after = lines_at(neighbour(day, hour, 1)).unwrap_or(0.0);
                if before > 0.0 && after > 0.0 {
                    problems.push(format!("no file for {at} (it wrote the hours before and after)"));
                    continue;
                }
            }
            let Some(hour_lines) = here else { continue };
            let total: f64 = hour_lines.values().sum();
            let expected = total * usual;
            let Some(now) = share(hour_lines, server) else { continue };
            if expected >= f64::from(settings.min_expected_lines) {
                lowest = Some(lowest.map_or(now / usual, |l: f64| l.min(now / usual)));
                // Under half its share, and by more than chance: lines fall to servers at
                // random, so a share is judged by its binomial spread as well.
                let sigma = (expected * (1.0 - usual)).sqrt().max(1.0);
                let short_by = (expected - now * total) / sigma;
                if now < settings.min_share_of_median * usual && short_by > SHORTFALL_SIGMAS {
                    problems.push(format!(
                        "{at}: {:.0} of the hour's {total:.0} lines ({:.1}%), under half its usual {:.1}%",
                        now * total,
                        now * 100.0,
                        usual * 100.0
                    ));
                }
            }
        }
        let status = if problems.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        };
        let detail = if problems.is_empty() {
            format!(
                "every hour's file present; usual share {:.1}% of the lines",
                usual * 100.0
            )
        } else {
            format!(
                "{}; a dead server or a failed shipper: the lines of those hours are missing from the warehouse",
                problems.join("; ")
            )
        };
        findings.push(
            Finding::new(day, CHECK, server.as_str(), status)
                .observed(match lowest {
                    Some(l) => format!(
                        "{} problem hour(s); lowest share {:.0}% of usual",
                        problems.len(),
                        l * 100.0
                    ),
                    None => format!("{} problem hour(s)", problems.len()),
                })
                .expected(format!(
                    "a file every hour, each at least {:.0}% of the usual share",
                    settings.min_share_of_median * 100.0
                ))
                .detail(detail),
        );
    }
    if findings.is_empty() {
        findings.push(
            Finding::new(day, CHECK, "all servers", Status::Fail)
                .observed("no log files for the day")
                .expected("hourly files from every server")
                .detail("etl_log_files has no file of this day: are the archives reaching [sources.logs] path?"),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day_of(lines: &[(&str, f64)]) -> Hours {
        let mut hours = Hours::new();
        for d in 99..=101 {
            for h in 0..24 {
                hours.insert((d, h), lines.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect());
            }
        }
        hours
    }

    #[test]
    fn a_missing_hour_and_a_thin_hour_fail_naming_server_and_hour() {
        let mut hours = day_of(&[("api-01", 100.0), ("api-02", 100.0)]);
        hours.get_mut(&(100, 10)).map(|h| h.remove("api-02"));
        hours.get_mut(&(100, 14)).map(|h| h.insert("api-01".into(), 20.0));
        let findings = judge(100, &hours, &LogCompleteness::default());
        let by_server: BTreeMap<&str, &Finding> = findings.iter().map(|f| (f.subject.as_str(), f)).collect();
        assert_eq!(by_server["api-02"].status, Status::Fail);
        assert!(
            by_server["api-02"].detail.contains("no file for 1970-04-11 10:00"),
            "{}",
            by_server["api-02"].detail
        );
        assert_eq!(by_server["api-01"].status, Status::Fail);
        assert!(
            by_server["api-01"].detail.contains("1970-04-11 14:00"),
            "{}",
            by_server["api-01"].detail
        );
        let clean = judge(
            100,
            &day_of(&[("api-01", 100.0), ("api-02", 90.0)]),
            &LogCompleteness::default(),
        );
        assert!(clean.iter().all(|f| f.status == Status::Pass));
    }

    #[test]
    fn a_quiet_night_hour_is_not_judged_by_share() {
        let mut hours = day_of(&[("api-01", 100.0), ("api-02", 100.0)]);
        hours.insert(
            (100, 3),
            [("api-01".to_owned(), 5.0), ("api-02".to_owned(), 0.0)].into(),
        );
        let findings = judge(100, &hours, &LogCompleteness::default());
        assert!(findings.iter().all(|f| f.status == Status::Pass), "{findings:?}");
    }
}
