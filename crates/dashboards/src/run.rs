//! Answering a chart: its SQL planned once to learn what it reads and binds,
//! its filter values bound as typed parameters, its rows from the cache when
//! the data they came from has not changed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use darkroom_warehouse::{QuerySession, QueryShape};
use datafusion::common::ParamValues;

use crate::cache::ResultCache;
use crate::error::DashboardError;
use crate::file::{Chart, Dashboard};
use crate::filters::FilterValues;
use crate::rows::ChartRows;

/// What a cached answer depends on: the committed version of each Delta table,
/// and a stamp of the run history (`etl_*`, which is not a Delta table).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataVersion {
    pub tables: BTreeMap<String, i64>,
    pub history: u64,
}

impl DataVersion {
    /// One number for the whole version: a key part for what depends on every table.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.tables.hash(&mut hasher);
        self.history.hash(&mut hasher);
        hasher.finish()
    }
}

/// What `sql` reads and takes ([`QuerySession::describe`]), planned once per
/// data version: planning is most of a cached answer's cost.
pub async fn cached_shape(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    sql: &str,
) -> Result<Arc<QueryShape>, darkroom_warehouse::WarehouseError> {
    let key = format!("{}\n{sql}", version.fingerprint());
    if let Some(shape) = cache.shape(&key) {
        return Ok(shape);
    }
    let shape = Arc::new(session.describe(sql).await?);
    cache.put_shape(key, shape.clone());
    Ok(shape)
}

/// Any read-only SQL without parameters, cached as [`run_cached`] says (the
/// app's own queries: filter options, audit status).
pub async fn query_cached(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    sql: &str,
) -> Result<Arc<ChartRows>, DashboardError> {
    let shape = cached_shape(session, cache, version, sql).await?;
    run_cached(
        session,
        cache,
        version,
        sql,
        &shape,
        ParamValues::Map(Default::default()),
    )
    .await
}

/// What `chart`'s SQL reads and takes, after checking that every `$name` it
/// uses is bound by one of the dashboard's filters.
pub async fn chart_shape(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    dashboard: &Dashboard,
    chart: &Chart,
) -> Result<Arc<QueryShape>, DashboardError> {
    let located = |message: String| DashboardError::Chart {
        chart: chart.id.clone(),
        message: format!("{} (file {}, line {})", message, dashboard.path.display(), chart.line),
    };
    if let Some(problem) = &chart.problem {
        return Err(DashboardError::Chart {
            chart: chart.id.clone(),
            message: problem.clone(),
        });
    }
    let shape = cached_shape(session, cache, version, &chart.sql)
        .await
        .map_err(|e| located(format!("its SQL does not plan: {e}")))?;
    let bound = dashboard.bound_names();
    let unbound: Vec<String> = shape
        .parameters
        .keys()
        .filter(|name| !bound.contains(name))
        .map(|name| format!("${name}"))
        .collect();
    if !unbound.is_empty() {
        let offered = if bound.is_empty() {
            "this dashboard has no filters".to_owned()
        } else {
            format!(
                "its filters bind {}",
                bound.iter().map(|b| format!("${b}")).collect::<Vec<_>>().join(", ")
            )
        };
        return Err(located(format!(
            "{} {} bound by no filter ({offered})",
            unbound.join(", "),
            if unbound.len() == 1 { "is" } else { "are" }
        )));
    }
    Ok(shape)
}

fn cache_key(sql: &str, shape: &QueryShape, params: &ParamValues, version: &DataVersion) -> String {
    let mut key = format!("{sql}\n");
    if let ParamValues::Map(map) = params {
        let sorted: BTreeMap<_, _> = map.iter().collect();
        for (name, value) in sorted {
            let _ = write!(key, "{name}={:?};", value.value);
        }
    }
    key.push('\n');
    for table in &shape.tables {
        match version.tables.get(table) {
            Some(v) => {
                let _ = write!(key, "{table}@{v};");
            }
            None => {
                let _ = write!(key, "{table}@history{};", version.history);
            }
        }
    }
    key
}

/// `sql`'s rows for `params`, from `cache` while the tables it reads (per
/// `shape`) are at the versions it was answered from.
pub async fn run_cached(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    sql: &str,
    shape: &QueryShape,
    params: ParamValues,
) -> Result<Arc<ChartRows>, DashboardError> {
    let key = cache_key(sql, shape, &params, version);
    if let Some(rows) = cache.get(&key) {
        return Ok(rows);
    }
    let rows = run_sql(session, sql, Some(params)).await?;
    cache.put(key, rows.clone());
    Ok(rows)
}

/// `chart`'s rows for `values`, cached as [`run_cached`] says.
pub async fn run_chart(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    dashboard: &Dashboard,
    chart: &Chart,
    values: &FilterValues,
) -> Result<Arc<ChartRows>, DashboardError> {
    let shape = chart_shape(session, cache, version, dashboard, chart).await?;
    let params = values.bind(&shape.parameters)?;
    run_cached(session, cache, version, &chart.sql, &shape, params)
        .await
        .map_err(|e| match e {
            DashboardError::Query(inner) => DashboardError::Chart {
                chart: chart.id.clone(),
                message: format!("{inner} (file {}, line {})", dashboard.path.display(), chart.line),
            },
            other => other,
        })
}

/// The values a select filter offers: its `options_sql`'s first column, cached.
pub async fn filter_options(
    session: &QuerySession,
    cache: &ResultCache,
    version: &DataVersion,
    sql: &str,
) -> Result<Vec<String>, DashboardError> {
    let rows = query_cached(session, cache, version, sql).await?;
    Ok(rows
        .table()
        .rows
        .iter()
        .filter_map(|row| row.first())
        .map(|cell| cell.label(darkroom_charts::NumberFormat::Count))
        .filter(|label| !label.is_empty())
        .collect())
}

/// Any read-only SQL, bounded as `darkroom sql`, timed.
pub async fn run_sql(
    session: &QuerySession,
    sql: &str,
    params: Option<ParamValues>,
) -> Result<Arc<ChartRows>, DashboardError> {
    let started = Instant::now();
    let (schema, batches) = session.query_with_params(sql, params).await?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(ChartRows::new(schema, batches, elapsed_ms))
}
