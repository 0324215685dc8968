//! Each metric's latest audit status, for the catalog entry on the page and
//! the line under its chart in the email.

use std::collections::HashMap;

use darkroom_charts::NumberFormat;
use darkroom_metrics::Catalog;
use darkroom_warehouse::QuerySession;

use crate::cache::ResultCache;
use crate::run::{DataVersion, query_cached};

/// For each of `metrics`, the checks of the latest audit day that feed it,
/// with their worst status that day: `(check, "pass" | "warn" | "fail")`. A
/// project without audits yet gives an empty map.
pub async fn latest_audit_status(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    catalog: &Catalog,
    metrics: &[String],
) -> HashMap<String, Vec<(String, String)>> {
    let mut status: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if metrics.is_empty() {
        return status;
    }
    let sql = "SELECT \"check\", max(CASE status WHEN 'fail' THEN 2 WHEN 'warn' THEN 1 ELSE 0 END) AS worst \
               FROM audit_results WHERE audit_date = (SELECT max(audit_date) FROM audit_results) GROUP BY 1";
    let Ok(rows) = query_cached(session, cache, version, sql).await else {
        return status;
    };
    let table = rows.table();
    for name in metrics {
        // A dashboard often shows one metric twice (its number and its line).
        if status.contains_key(name) {
            continue;
        }
        let Some(metric) = catalog.metric(name) else { continue };
        for row in &table.rows {
            let check = row[0].label(NumberFormat::Count);
            if darkroom_metrics::audit_feeds(&check, metric) {
                let worst = match row[1].number() {
                    Some(w) if w >= 2.0 => "fail",
                    Some(w) if w >= 1.0 => "warn",
                    _ => "pass",
                };
                status.entry(name.clone()).or_default().push((check, worst.to_owned()));
            }
        }
    }
    status
}
