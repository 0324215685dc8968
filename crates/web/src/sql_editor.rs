//! What the SQL editor needs beyond `/api/query`: the schema browser and
//! autocomplete's tables and columns (from the data dictionary), a chart of a
//! query's rows before it is saved, and cancelling a running query.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use darkroom_dashboards::{DataVersion, run_sql};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::accounts::Role;
use crate::auth::Authed;
use crate::error::WebError;

/// The last schema answered, and the data it describes.
pub type SchemaCache = std::sync::Mutex<Option<(DataVersion, Arc<Value>)>>;

/// `GET /api/schema` (editor): every table with its description and row count,
/// each column with its type, description and (for a categorical column) values.
pub async fn schema(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, WebError> {
    authed.require(Role::Editor)?;
    let worker = state.clone();
    let answer = state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            if let Some((version, answer)) = worker.schema.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
                && *version == view.version
            {
                return Ok(answer.clone());
            }
            let dictionary = darkroom_pipeline::project_dictionary(&worker.live.project, &view.session).await?;
            let tables: Vec<Value> = dictionary
                .tables
                .iter()
                .map(|table| {
                    json!({
                        "name": table.name,
                        "description": table.description,
                        "rows": table.rows,
                        "columns": table.columns.iter().map(|c| json!({
                            "name": c.name,
                            "type": c.data_type,
                            "description": c.description,
                            "values": c.values.as_ref().map(|v| v.iter().map(|(value, _)| value.clone()).collect::<Vec<_>>()),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let answer = Arc::new(json!({ "tables": tables }));
            *worker.schema.lock().unwrap_or_else(|e| e.into_inner()) = Some((view.version.clone(), answer.clone()));
            Ok(answer)
        })
        .await?;
    Ok(Json((*answer).clone()))
}

#[derive(Debug, Deserialize)]
pub struct CancelRequest {
    query_id: String,
}

/// `POST /api/query/cancel {"query_id"}` (editor): stops the asker's own query
/// of that id; it answers 499, "the query was cancelled".
pub async fn cancel(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Json(request): Json<CancelRequest>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let key = running_key(&authed.user.name, &request.query_id);
    let cancelled = match state.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&key) {
        Some(handle) => {
            handle.abort();
            true
        }
        None => false,
    };
    tracing::info!(user = %authed.user.name, query_id = %request.query_id, cancelled, "query cancel");
    Ok(Json(json!({ "cancelled": cancelled })))
}

/// A running query's key: its asker and the id the asker gave it, so no one
/// cancels another's query.
pub fn running_key(user: &str, query_id: &str) -> String {
    format!("{user}\u{0}{query_id}")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    sql: String,
    kind: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Vec<String>,
    #[serde(default)]
    series: Option<String>,
}

/// `POST /api/chart-preview` (editor): the query's rows drawn as the chart would
/// draw them (SVG), before it is saved.
pub async fn preview(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Json(request): Json<PreviewRequest>,
) -> Result<Response, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let kind = darkroom_charts::ChartKind::parse(&request.kind).ok_or_else(|| WebError::BadRequest {
        message: format!(
            "kind {:?} is not one of {}",
            request.kind,
            darkroom_charts::ChartKind::NAMES.join(", ")
        ),
    })?;
    let title = request.title.clone().unwrap_or_else(|| "Preview".to_owned());
    let worker = state.clone();
    let sql = request.sql.clone();
    let rows = state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            Ok(run_sql(&view.session, &sql, None).await?)
        })
        .await?;
    let nonblank = |v: Option<String>| v.filter(|t| !t.trim().is_empty());
    let (x, series) = (nonblank(request.x), nonblank(request.series));
    let draw_error = |source| WebError::Draw {
        chart: title.clone(),
        source,
    };
    let table = rows
        .table()
        .pick(&title, x.as_deref(), series.as_deref(), &request.y)
        .map_err(draw_error)?;
    let spec = darkroom_charts::ChartSpec {
        kind,
        title: title.clone(),
        format: darkroom_charts::NumberFormat::Count,
    };
    let svg = darkroom_charts::render_svg(&spec, &table).map_err(draw_error)?;
    Ok(([(CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
