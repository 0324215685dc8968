//! Charts and dashboards made and changed in the app (editor role), written to
//! `dashboards/SLUG.toml`, each version kept in [`crate::history`] with a diff
//! and a restore.
//!
//! A save is checked whole before anything is written: the file's rules
//! ([`DashboardSource::check`]), chart ids unique across dashboards (a chart's
//! URL is its id), and every chart's SQL and every filter's options query
//! planned as read-only on the warehouse, each `$parameter` bound by a filter.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use darkroom_dashboards::{ChartSource, DashboardSource, dashboard_path, is_slug, write_dashboard};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::accounts::Role;
use crate::auth::Authed;
use crate::error::WebError;
use crate::history::{VersionInfo, diff};

/// The source of dashboard `slug` as its file says now, and its latest version.
fn current_source(state: &AppState, slug: &str) -> Result<(DashboardSource, Option<i64>), WebError> {
    if !is_slug(slug) {
        return Err(WebError::NoSuchDashboard { slug: slug.to_owned() });
    }
    let path = dashboard_path(&state.live.project.dir, slug);
    let text = std::fs::read_to_string(&path).map_err(|_| WebError::NoSuchDashboard { slug: slug.to_owned() })?;
    let source = DashboardSource::parse(&path, &text)?;
    Ok((source, state.live.history.latest(slug)?))
}

/// Checks `source` whole, keeps it as the next version of `slug` and writes
/// its file; the app reads it at once. `base` is the version the user started
/// from: if someone saved since, nothing is written.
pub async fn save(
    state: &AppState,
    slug: &str,
    source: DashboardSource,
    author: &str,
    note: &str,
    base: Option<i64>,
) -> Result<i64, WebError> {
    if !is_slug(slug) {
        return Err(WebError::BadRequest {
            message: format!("dashboard slug {slug:?} is not made of letters, digits, - and _"),
        });
    }
    source.check()?;
    let _one_at_a_time = state.saving.lock().await;
    let dashboards = state.live.dashboards();
    for chart in &source.charts {
        if let Some((other, _)) = dashboards.chart(&chart.id).filter(|(d, _)| d.slug != slug) {
            return Err(WebError::from(darkroom_dashboards::DashboardError::Invalid {
                message: format!("chart id `{}` is already on dashboard `{}`", chart.id, other.slug),
            }));
        }
    }
    check_sql(state, &source).await?;
    let latest = state.live.history.latest(slug)?;
    if let Some(base) = base
        && latest.is_some_and(|latest| latest != base)
    {
        let by = latest
            .and_then(|v| state.live.history.source(slug, v).ok().flatten())
            .map_or_else(String::new, |(info, _)| info.author);
        return Err(WebError::Conflict {
            slug: slug.to_owned(),
            base,
            latest: latest.unwrap_or_default(),
            by,
        });
    }
    let path = dashboard_path(&state.live.project.dir, slug);
    let original = std::fs::read_to_string(&path).ok();
    let text = source.to_toml_over(original.as_deref())?;
    let version = state.live.history.record(slug, &text, author, note)?;
    if let Err(e) = write_dashboard(&path, &text) {
        if latest != Some(version) {
            state.live.history.forget(slug, version)?;
        }
        return Err(e.into());
    }
    state.live.reload_dashboards();
    tracing::info!(user = %author, dashboard = %slug, version, note = %note, "dashboard saved");
    Ok(version)
}

/// Every chart's SQL and filter query planned read-only; each parameter bound by a filter.
async fn check_sql(state: &AppState, source: &DashboardSource) -> Result<(), WebError> {
    let bound: BTreeSet<String> = source
        .filters
        .iter()
        .flat_map(darkroom_dashboards::FilterSource::binds)
        .collect();
    let queries: Vec<(String, String)> = source
        .charts
        .iter()
        .map(|c| (c.id.clone(), c.sql.clone()))
        .chain(
            source
                .filters
                .iter()
                .filter_map(|f| Some((format!("filter {}", f.name), f.options_sql.clone()?))),
        )
        .collect();
    let worker = state.clone();
    state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            for (chart, sql) in queries {
                let shape = view
                    .session
                    .describe(&sql)
                    .await
                    .map_err(|source| WebError::ChartSql {
                        chart: chart.clone(),
                        source,
                    })?;
                if let Some(unbound) = shape.parameters.keys().find(|p| !bound.contains(*p)) {
                    return Err(WebError::from(darkroom_dashboards::DashboardError::Invalid {
                        message: format!(
                            "{chart}: ${unbound} is bound by no filter; add a filter that binds it, or take it out of the SQL"
                        ),
                    }));
                }
            }
            Ok(())
        })
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDashboard {
    #[serde(default)]
    slug: Option<String>,
    title: String,
    team: String,
    #[serde(default)]
    description: Option<String>,
}

/// `POST /api/dashboards` (editor): a new, empty dashboard file.
pub async fn create_dashboard(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Json(request): Json<NewDashboard>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let slug = request
        .slug
        .unwrap_or_else(|| darkroom_dashboards::slugify(&request.title));
    if dashboard_path(&state.live.project.dir, &slug).exists() {
        return Err(WebError::DashboardExists { slug });
    }
    if !darkroom_dashboards::TEAMS.contains(&request.team.as_str()) {
        return Err(WebError::from(darkroom_dashboards::DashboardError::Invalid {
            message: format!(
                "team {:?} is not one of {}",
                request.team,
                darkroom_dashboards::TEAMS.join(", ")
            ),
        }));
    }
    let source = DashboardSource {
        title: request.title,
        team: request.team,
        description: request.description,
        filters: Vec::new(),
        charts: Vec::new(),
    };
    let version = save(&state, &slug, source, &authed.user.name, "created", None).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "slug": slug, "version": version, "url": format!("/d/{slug}") })),
    ))
}

/// `GET /api/dashboards/SLUG/source` (editor): the file's fields and the version they are.
pub async fn dashboard_source(
    State(state): State<AppState>,
    authed: Authed,
    Path(slug): Path<String>,
) -> Result<Json<Value>, WebError> {
    authed.require(Role::Editor)?;
    let (source, version) = current_source(&state, &slug)?;
    Ok(Json(json!({ "slug": slug, "version": version, "source": source })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveDashboard {
    source: DashboardSource,
    #[serde(default)]
    base_version: Option<i64>,
    #[serde(default)]
    note: Option<String>,
}

/// `PUT /api/dashboards/SLUG` (editor): the whole dashboard (layout, filters, charts).
pub async fn put_dashboard(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Json(request): Json<SaveDashboard>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    current_source(&state, &slug)?;
    let note = request.note.unwrap_or_else(|| "edited".to_owned());
    let version = save(
        &state,
        &slug,
        request.source,
        &authed.user.name,
        &note,
        request.base_version,
    )
    .await?;
    Ok(Json(json!({ "slug": slug, "version": version })))
}

/// A chart as the editor sends it; the id is made from the title when new.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartDraft {
    title: String,
    kind: String,
    sql: String,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Vec<String>,
    #[serde(default)]
    series: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    width: Option<u8>,
    #[serde(default)]
    base_version: Option<i64>,
}

fn blank_is_none(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

impl ChartDraft {
    fn into_source(self, id: String) -> (ChartSource, Option<i64>) {
        (
            ChartSource {
                id,
                title: self.title,
                kind: self.kind,
                metric: blank_is_none(self.metric),
                description: blank_is_none(self.description),
                format: blank_is_none(self.format),
                width: self.width,
                x: blank_is_none(self.x),
                y: self.y.into_iter().filter(|y| !y.trim().is_empty()).collect(),
                series: blank_is_none(self.series),
                sql: self.sql,
            },
            self.base_version,
        )
    }
}

/// `POST /api/dashboards/SLUG/charts` (editor): a query saved as a chart at the dashboard's end.
pub async fn add_chart(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Json(draft): Json<ChartDraft>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let (mut source, _) = current_source(&state, &slug)?;
    let taken: Vec<String> = state
        .live
        .dashboards()
        .loaded
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .flat_map(|d| d.charts.iter().map(|c| c.id.clone()))
        .chain(source.charts.iter().map(|c| c.id.clone()))
        .collect();
    let id = DashboardSource::new_chart_id(&slug, &draft.title, &taken);
    let (chart, base) = draft.into_source(id.clone());
    let note = format!("added chart {id}");
    source.charts.push(chart);
    let version = save(&state, &slug, source, &authed.user.name, &note, base).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "dashboard": slug, "version": version, "url": format!("/d/{slug}#chart-{id}") })),
    ))
}

/// `PUT /api/charts/ID` (editor): the chart's title, kind, columns and SQL.
pub async fn put_chart(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(draft): Json<ChartDraft>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let slug = slug_of_chart(&state, &id)?;
    let (mut source, _) = current_source(&state, &slug)?;
    let (chart, base) = draft.into_source(id.clone());
    let slot = source
        .chart_mut(&id)
        .ok_or_else(|| WebError::NoSuchChart { id: id.clone() })?;
    *slot = chart;
    let version = save(
        &state,
        &slug,
        source,
        &authed.user.name,
        &format!("changed chart {id}"),
        base,
    )
    .await?;
    Ok(Json(json!({ "id": id, "dashboard": slug, "version": version })))
}

/// `DELETE /api/charts/ID` (editor): the chart leaves its dashboard (its versions stay).
pub async fn delete_chart(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let slug = slug_of_chart(&state, &id)?;
    let (mut source, _) = current_source(&state, &slug)?;
    source.charts.retain(|c| c.id != id);
    let version = save(
        &state,
        &slug,
        source,
        &authed.user.name,
        &format!("removed chart {id}"),
        None,
    )
    .await?;
    Ok(Json(json!({ "dashboard": slug, "version": version })))
}

fn slug_of_chart(state: &AppState, id: &str) -> Result<String, WebError> {
    let dashboards = state.live.dashboards();
    let (dashboard, _) = dashboards
        .chart(id)
        .ok_or_else(|| WebError::NoSuchChart { id: id.to_owned() })?;
    Ok(dashboard.slug.clone())
}

/// `GET /api/dashboards/SLUG/versions`: every version, newest first.
pub async fn dashboard_versions(
    State(state): State<AppState>,
    _authed: Authed,
    Path(slug): Path<String>,
) -> Result<Json<Vec<VersionInfo>>, WebError> {
    let versions = state.live.history.versions(&slug)?;
    if versions.is_empty() {
        return Err(WebError::NoSuchDashboard { slug });
    }
    Ok(Json(versions))
}

#[derive(Debug, Deserialize)]
pub struct AgainstQuery {
    /// The version to compare with; the one before by default.
    against: Option<i64>,
}

/// `GET /api/dashboards/SLUG/versions/N?against=M`: the text and its diff from M.
pub async fn dashboard_version(
    State(state): State<AppState>,
    _authed: Authed,
    Path((slug, version)): Path<(String, i64)>,
    Query(query): Query<AgainstQuery>,
) -> Result<Json<Value>, WebError> {
    let (info, text) = version_source(&state, &slug, version)?;
    let against = query.against.unwrap_or(version - 1);
    let older = state.live.history.source(&slug, against)?;
    let (against_text, against_name) = match &older {
        Some((_, text)) => (text.as_str(), format!("{slug}.toml version {against}")),
        None => ("", "(nothing)".to_owned()),
    };
    Ok(Json(json!({
        "slug": slug,
        "version": info,
        "source": text,
        "against": older.as_ref().map(|(info, _)| info.version),
        "diff": diff(against_text, &text, &against_name, &format!("{slug}.toml version {version}")),
    })))
}

fn version_source(state: &AppState, slug: &str, version: i64) -> Result<(VersionInfo, String), WebError> {
    state
        .live
        .history
        .source(slug, version)?
        .ok_or_else(|| WebError::NoSuchVersion {
            slug: slug.to_owned(),
            version,
        })
}

/// `POST /api/dashboards/SLUG/versions/N/restore` (editor): version N becomes the newest.
pub async fn restore_dashboard(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path((slug, version)): Path<(String, i64)>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let (_, text) = version_source(&state, &slug, version)?;
    let path = dashboard_path(&state.live.project.dir, &slug);
    let source = DashboardSource::parse(&path, &text)?;
    let saved = save(
        &state,
        &slug,
        source,
        &authed.user.name,
        &format!("restored version {version}"),
        None,
    )
    .await?;
    Ok(Json(json!({ "slug": slug, "version": saved })))
}

/// Each version of chart `id` whose chart differs from the version before, oldest first.
fn chart_versions(state: &AppState, id: &str) -> Result<(String, Vec<(VersionInfo, ChartSource)>), WebError> {
    let slug = slug_of_chart(state, id)?;
    let path = dashboard_path(&state.live.project.dir, &slug);
    let mut versions: Vec<(VersionInfo, ChartSource)> = Vec::new();
    for (info, text) in state.live.history.sources(&slug)? {
        // A version that no longer parses (an older format) is skipped, not fatal.
        let Ok(source) = DashboardSource::parse(&path, &text) else {
            continue;
        };
        let Some(chart) = source.charts.into_iter().find(|c| c.id == id) else {
            continue;
        };
        if versions.last().is_none_or(|(_, last)| *last != chart) {
            versions.push((info, chart));
        }
    }
    Ok((slug, versions))
}

/// `GET /api/charts/ID/versions`: every version of the chart, newest first,
/// each with its SQL and the diff of its SQL from the version before.
pub async fn chart_history(
    State(state): State<AppState>,
    _authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let (slug, versions) = chart_versions(&state, &id)?;
    let mut listed = Vec::new();
    let mut previous_sql = String::new();
    let mut previous_name = "(new)".to_owned();
    for (info, chart) in &versions {
        let name = format!("{id} version {}", info.version);
        listed.push(json!({
            "version": info,
            "chart": chart,
            "sql_diff": diff(&with_newline(&previous_sql), &with_newline(&chart.sql), &previous_name, &name),
        }));
        previous_sql.clone_from(&chart.sql);
        previous_name = name;
    }
    listed.reverse();
    Ok(Json(json!({ "id": id, "dashboard": slug, "versions": listed })))
}

fn with_newline(sql: &str) -> String {
    if sql.is_empty() || sql.ends_with('\n') {
        sql.to_owned()
    } else {
        format!("{sql}\n")
    }
}

/// `POST /api/charts/ID/versions/N/restore` (editor): the chart as it was in version N.
pub async fn restore_chart(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let slug = slug_of_chart(&state, &id)?;
    let (_, text) = version_source(&state, &slug, version)?;
    let path = dashboard_path(&state.live.project.dir, &slug);
    let old = DashboardSource::parse(&path, &text)?
        .charts
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| WebError::NoSuchVersion {
            slug: format!("{slug} (chart {id})"),
            version,
        })?;
    let (mut source, _) = current_source(&state, &slug)?;
    let slot = source
        .chart_mut(&id)
        .ok_or_else(|| WebError::NoSuchChart { id: id.clone() })?;
    *slot = old;
    let note = format!("restored chart {id} to version {version}");
    let saved = save(&state, &slug, source, &authed.user.name, &note, None).await?;
    Ok(Json(json!({ "id": id, "dashboard": slug, "version": saved })))
}
