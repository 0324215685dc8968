use std::path::Path;

use darkroom_metrics::{Catalog, MetricsError, Team, Unit};
use datafusion::prelude::SessionContext;

use crate::{TEMPLATE_CATALOG, template_catalog};

fn parse_error(text: &str) -> String {
    let error = Catalog::parse(Path::new("proj/metrics.toml"), text, &SessionContext::new().state())
        .expect_err("the catalog is refused");
    assert!(error.is_usage(), "{error}");
    error.to_string()
}

#[test]
fn the_template_defines_every_metric_of_metrics_md_once_with_its_reads() {
    let catalog = template_catalog();
    assert_eq!(catalog.metrics.len(), 27);
    let dau = catalog.metric("dau").expect("dau");
    assert_eq!((dau.team, dau.unit), (Team::Executive, Unit::Users));
    assert!(dau.has_client_breakdown());
    assert_eq!(dau.reads, ["raw_events"]);
    let churn = catalog.metric("churned_subscribers").expect("churn");
    assert!(!churn.has_client_breakdown());
    assert_eq!(
        churn.reads,
        ["fact_subscriber_snapshots"],
        "metric_days is not a warehouse table"
    );
    assert_eq!(
        dau.display_sql(),
        "SELECT CAST(event_date AS DATE) AS date, count(DISTINCT user_id) AS value\nFROM raw_events\n\
         WHERE event_date IN (d) AND (user_id IS NOT NULL)\nGROUP BY 1"
    );
}

#[test]
fn an_unknown_key_names_the_key_and_line() {
    let text = TEMPLATE_CATALOG.replacen("client_column = \"client\"", "client_col = \"client\"", 1);
    let message = parse_error(&text);
    assert!(message.starts_with("proj/metrics.toml: "), "{message}");
    assert!(message.contains("unknown field `client_col`"), "{message}");
    assert!(message.contains("line 28, column 1"), "{message}");
}

#[test]
fn a_metric_without_a_computation_or_with_an_empty_definition_is_named() {
    let base =
        "[[metrics]]\nname = \"x\"\ndefinition = \"d\"\nteam = \"sales\"\nstage = \"revenue\"\nunit = \"count\"\n";
    assert_eq!(
        parse_error(base),
        "proj/metrics.toml: metric `x`: give either `sql`, or `table` with `measure` (and `date_column`), not both"
    );
    assert_eq!(
        parse_error(&format!("{base}table = \"t\"\nmeasure = \"count(*)\"\n")),
        "proj/metrics.toml: metric `x`: a `table` + `measure` metric needs `date_column`"
    );
    assert_eq!(
        parse_error(&base.replace("definition = \"d\"", "definition = \" \"")),
        "proj/metrics.toml: metric `x`: its definition is empty; say in one line what it counts"
    );
    assert_eq!(
        parse_error(&format!("{base}sql = \"SELECT 1\"\nfilter = \"a\"\n")),
        "proj/metrics.toml: metric `x`: date_column, filter and client_column belong to a `table` + `measure` metric, not to `sql`"
    );
    assert_eq!(
        parse_error(&base.replace("unit = \"count\"", "unit = \"euros\"")),
        "proj/metrics.toml: line 6, column 8: unknown variant `euros`, expected one of `count`, `users`, `cents`, `ratio`"
    );
    assert_eq!(parse_error(""), "proj/metrics.toml: no [[metrics]] entries");
}

#[test]
fn sql_that_does_not_parse_is_named_by_metric() {
    let text = "[[metrics]]\nname = \"broken\"\ndefinition = \"d\"\nteam = \"sales\"\nstage = \"revenue\"\n\
                unit = \"count\"\nsql = \"SELECT (date FROM t\"\n";
    let message = parse_error(text);
    assert!(
        message.starts_with("proj/metrics.toml: metric `broken`: its SQL does not parse: "),
        "{message}"
    );
    let hint = MetricsError::CatalogEntry {
        path: "m".into(),
        metric: "m".into(),
        message: String::new(),
    }
    .hint();
    assert!(hint.contains("metrics.toml"));
}

/// What people read is the label ("Daily active users"); the name stays the
/// key. A metric without a label reads as its name in a sentence.
#[test]
fn a_metric_reads_by_its_label_and_is_keyed_by_its_name() {
    let catalog = template_catalog();
    assert!(catalog.metrics.iter().all(|m| !m.label.is_empty() && m.label != m.name));
    assert_eq!(
        catalog.metric("dau").map(|m| m.label.as_str()),
        Some("Daily active users")
    );
    let text = "[[metrics]]\nname = \"paid_subscribers\"\ndefinition = \"x\"\nteam = \"executive\"\n\
                stage = \"revenue\"\nunit = \"users\"\nsql = \"SELECT 1 AS date, 1 AS value\"\n";
    let unlabeled = Catalog::parse(Path::new("metrics.toml"), text, &SessionContext::new().state()).expect("parses");
    assert_eq!(unlabeled.metrics[0].label, "Paid subscribers");
}
