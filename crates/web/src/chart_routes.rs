//! A chart answered: its rows for the request's filter values, and those rows
//! as SVG, CSV or XLSX (`/charts/ID.svg`, and the same under a share link).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use darkroom_charts::ChartSpec;
use darkroom_dashboards::{Chart, ChartRows, Dashboard, FilterValues, run_chart};

use crate::AppState;
use crate::auth::Authed;
use crate::error::WebError;

/// A chart's rows and what draws them.
#[derive(Debug, Clone)]
pub struct Answer {
    pub chart: Chart,
    pub rows: Arc<ChartRows>,
    pub spec: ChartSpec,
}

impl Answer {
    pub fn svg(&self) -> Result<String, WebError> {
        let table = self
            .chart
            .drawn_table(&self.rows)
            .map_err(|source| self.draw_error(source))?;
        darkroom_charts::render_svg(&self.spec, &table).map_err(|source| self.draw_error(source))
    }

    /// The same drawing as [`Self::svg`], as a PNG (email, Slack, chat previews).
    pub fn png(&self) -> Result<Vec<u8>, WebError> {
        let table = self
            .chart
            .drawn_table(&self.rows)
            .map_err(|source| self.draw_error(source))?;
        darkroom_charts::render_png(&self.spec, &table).map_err(|source| self.draw_error(source))
    }

    fn draw_error(&self, source: darkroom_charts::ChartError) -> WebError {
        WebError::Draw {
            chart: self.chart.id.clone(),
            source,
        }
    }
}

/// `dashboard`'s chart `id` for the filter values in `query`, on the query runtime.
pub async fn answer(
    state: &AppState,
    dashboard: Dashboard,
    chart: Chart,
    query: HashMap<String, String>,
) -> Result<Answer, WebError> {
    let state_for_query = state.clone();
    state
        .on_query_runtime(async move {
            let state = state_for_query;
            let view = state.live.view().await?;
            let values = FilterValues::resolve(&dashboard, &query, view.last_day)?;
            let rows = run_chart(
                &view.session,
                &state.live.cache,
                &view.version,
                &dashboard,
                &chart,
                &values,
            )
            .await?;
            let spec = chart.spec(view.catalog.as_ref());
            Ok(Answer { chart, rows, spec })
        })
        .await
}

/// The chart `id` of any dashboard.
pub fn find_chart(state: &AppState, id: &str) -> Result<(Dashboard, Chart), WebError> {
    let dashboards = state.live.dashboards();
    let (dashboard, chart) = dashboards
        .chart(id)
        .ok_or_else(|| WebError::NoSuchChart { id: id.to_owned() })?;
    Ok((dashboard.clone(), chart.clone()))
}

fn split_file(file: &str) -> Result<(&str, &str), WebError> {
    file.rsplit_once('.')
        .filter(|(_, ext)| matches!(*ext, "svg" | "png" | "csv" | "xlsx"))
        .ok_or_else(|| WebError::NotFound {
            path: format!("/charts/{file} (a chart is ID.svg, ID.png, ID.csv or ID.xlsx)"),
        })
}

/// The answer as the file `ext` names.
pub fn file_response(answer: &Answer, ext: &str) -> Result<Response, WebError> {
    let id = &answer.chart.id;
    Ok(match ext {
        "svg" => ([(CONTENT_TYPE, "image/svg+xml")], answer.svg()?).into_response(),
        "png" => ([(CONTENT_TYPE, "image/png")], answer.png()?).into_response(),
        "csv" => (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.csv\"")),
            ],
            darkroom_dashboards::to_csv(&answer.rows)?,
        )
            .into_response(),
        _ => (
            [
                (
                    CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.xlsx\"")),
            ],
            darkroom_dashboards::to_xlsx(&answer.rows, &answer.chart.title)?,
        )
            .into_response(),
    })
}

/// `GET /charts/ID.svg|csv|xlsx?FILTER=VALUE...`
pub async fn chart_file(
    State(state): State<AppState>,
    authed: Authed,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let _ = authed;
    let (id, ext) = split_file(&file)?;
    let (dashboard, chart) = find_chart(&state, id)?;
    let answer = answer(&state, dashboard, chart, query).await?;
    file_response(&answer, ext)
}

/// `GET /s/TOKEN/charts/ID.svg|csv|xlsx`: only the shared dashboard's charts.
pub async fn shared_chart_file(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let share = state.accounts.share(&token)?.ok_or_else(|| WebError::NotFound {
        path: "/s/… (this share link was revoked, expired or never existed)".to_owned(),
    })?;
    let (id, ext) = split_file(&file)?;
    let dashboards = state.live.dashboards();
    let dashboard = dashboards
        .get(&share.dashboard)
        .ok_or_else(|| WebError::NoSuchDashboard {
            slug: share.dashboard.clone(),
        })?;
    let chart = dashboard
        .chart(id)
        .ok_or_else(|| WebError::NoSuchChart { id: id.to_owned() })?;
    let answer = answer(&state, dashboard.clone(), chart.clone(), query).await?;
    file_response(&answer, ext)
}
