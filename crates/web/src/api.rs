//! The JSON API of web.md. Errors are `{"error", "hint"}` with their status.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::{HOST, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use darkroom_dashboards::{ChartRows, run_sql};
use datafusion::common::{ParamValues, ScalarValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::accounts::{Role, User, now_seconds};
use crate::auth::{Authed, CSRF_HEADER, Credential, clear_session_cookie, session_cookie};
use crate::chart_routes::{answer, find_chart};
use crate::error::WebError;

/// Rows `/api/query` answers when the request names no limit.
const DEFAULT_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    user: String,
    password: String,
}

/// Checks a login (throttled per name) off the server's workers: argon2 is slow on purpose.
pub async fn check_login(state: &AppState, name: &str, password: &str) -> Result<User, WebError> {
    state.throttle.check(name)?;
    let checking = state.clone();
    let (name_owned, password) = (name.to_owned(), password.to_owned());
    let user = tokio::task::spawn_blocking(move || checking.accounts.check_password(&name_owned, &password))
        .await
        .map_err(|e| WebError::Worker { message: e.to_string() })??;
    match user {
        Some(user) => {
            state.throttle.succeeded(name);
            Ok(user)
        }
        None => {
            state.throttle.failed(name);
            tracing::warn!(user = %name, "failed login");
            Err(WebError::BadLogin)
        }
    }
}

/// `POST /api/login {"user", "password"}`: 200 and a session cookie, or 401.
pub async fn login(State(state): State<AppState>, Json(request): Json<LoginRequest>) -> Result<Response, WebError> {
    let user = check_login(&state, &request.user, &request.password).await?;
    let (id, session) = state.accounts.start_session(&user)?;
    Ok((
        [(SET_COOKIE, session_cookie(&id))],
        Json(json!({ "user": user.name, "role": user.role, "csrf": session.csrf })),
    )
        .into_response())
}

/// `POST /api/logout`: ends the session.
pub async fn logout(State(state): State<AppState>, authed: Authed, headers: HeaderMap) -> Result<Response, WebError> {
    authed.check_csrf(header(&headers, CSRF_HEADER))?;
    if let Credential::Session { id, .. } = &authed.credential {
        state.accounts.end_session(id)?;
    }
    Ok(([(SET_COOKIE, clear_session_cookie())], StatusCode::NO_CONTENT).into_response())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `/api/query` answer of web.md.
pub fn rows_json(rows: &ChartRows, limit: usize) -> Value {
    let row_count = rows.row_count();
    json!({
        "columns": rows.columns(),
        "rows": rows.json_rows(limit),
        "row_count": row_count.min(limit),
        "truncated": row_count > limit,
        "elapsed_ms": rows.elapsed_ms,
    })
}

#[derive(Debug, Deserialize)]
pub struct QueryRequest {
    sql: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    #[serde(default)]
    limit: Option<usize>,
    /// Names the query so that `/api/query/cancel` can stop it.
    #[serde(default)]
    query_id: Option<String>,
}

/// A JSON value as the type its parameter is compared with; text is never pasted into SQL.
fn typed(name: &str, value: &Value, wanted: Option<&arrow::datatypes::DataType>) -> Result<ScalarValue, WebError> {
    let bad = |why: String| WebError::BadRequest {
        message: format!("params.{name}: {why}"),
    };
    let scalar = match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int64(Some(i)),
            None => ScalarValue::Float64(n.as_f64()),
        },
        Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
        Value::Array(_) | Value::Object(_) => {
            return Err(bad("a parameter is a string, number, boolean or null".into()));
        }
    };
    match wanted {
        Some(data_type) if &scalar.data_type() != data_type && !scalar.is_null() => scalar
            .cast_to(data_type)
            .map_err(|_| bad(format!("{value} is not a {data_type}"))),
        _ => Ok(scalar),
    }
}

/// `POST /api/query` (editor): read-only SQL, bounded as `darkroom sql`.
pub async fn query(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Json(request): Json<QueryRequest>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Editor, &headers)?;
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    tracing::info!(user = %authed.user.name, sql = %request.sql, "query");
    let worker = state.clone();
    let key = request
        .query_id
        .as_deref()
        .map(|id| crate::sql_editor::running_key(&authed.user.name, id));
    let rows: Arc<ChartRows> = state
        .on_query_runtime_as(key, async move {
            let view = worker.live.view().await?;
            let params = if request.params.is_empty() {
                None
            } else {
                let shape = view
                    .session
                    .describe(&request.sql)
                    .await
                    .map_err(darkroom_dashboards::DashboardError::from)?;
                let mut bound = HashMap::new();
                for (name, value) in &request.params {
                    let wanted = shape.parameters.get(name).and_then(Option::as_ref);
                    bound.insert(name.clone(), typed(name, value, wanted)?);
                }
                Some(ParamValues::from(bound))
            };
            Ok(run_sql(&view.session, &request.sql, params).await?)
        })
        .await?;
    Ok(Json(rows_json(&rows, limit)))
}

/// `GET /api/dashboards`
pub async fn dashboards(State(state): State<AppState>, _authed: Authed) -> Json<Value> {
    let dashboards = state.live.dashboards();
    let list: Vec<Value> = dashboards
        .loaded
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|d| {
            json!({
                "slug": d.slug,
                "title": d.title,
                "team": d.team,
                "charts": d.charts.iter().map(|c| json!({"id": c.id, "title": c.title})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(Value::Array(list))
}

/// `GET /api/dashboards/SLUG`
pub async fn dashboard(
    State(state): State<AppState>,
    _authed: Authed,
    Path(slug): Path<String>,
) -> Result<Json<Value>, WebError> {
    let dashboards = state.live.dashboards();
    let d = dashboards
        .get(&slug)
        .ok_or_else(|| WebError::NoSuchDashboard { slug: slug.clone() })?;
    Ok(Json(json!({
        "slug": d.slug,
        "title": d.title,
        "team": d.team,
        "description": d.description,
        "problems": d.problems,
        "filters": d.filters.iter().map(|f| json!({
            "name": f.name,
            "label": f.label,
            "kind": match f.kind { darkroom_dashboards::FilterKind::DateRange => "date_range", darkroom_dashboards::FilterKind::Select => "select" },
            "default": f.default,
        })).collect::<Vec<_>>(),
        "charts": d.charts.iter().map(|c| json!({
            "id": c.id,
            "title": c.title,
            "kind": c.kind.map(darkroom_charts::ChartKind::name),
            "description": c.description,
            "metric": c.metric,
            "sql": c.sql,
            "error": c.problem,
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /api/charts/ID/data?FILTER=VALUE...`: every row of the chart.
pub async fn chart_data(
    State(state): State<AppState>,
    _authed: Authed,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WebError> {
    let (dashboard, chart) = find_chart(&state, &id)?;
    let answered = answer(&state, dashboard, chart, query).await?;
    Ok(Json(rows_json(&answered.rows, usize::MAX)))
}

#[derive(Debug, Deserialize)]
pub struct AuditsQuery {
    date: Option<String>,
}

/// `GET /api/audits?date=D`: that day's `audit_results` (the latest day's without one).
pub async fn audits(
    State(state): State<AppState>,
    _authed: Authed,
    Query(query): Query<AuditsQuery>,
) -> Result<Json<Value>, WebError> {
    let day = match query.date.as_deref() {
        Some(text) => Some(
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| WebError::BadRequest {
                message: format!("date={text:?} is not a date (YYYY-MM-DD)"),
            })?,
        ),
        None => None,
    };
    let worker = state.clone();
    let rows = state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            let sql = "SELECT audit_date, \"check\", subject, status, observed, expected, detail FROM audit_results \
                       WHERE audit_date = coalesce($day, (SELECT max(audit_date) FROM audit_results)) \
                       ORDER BY CASE status WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, \"check\", subject";
            let day = ScalarValue::Date32(day.map(|d| {
                i32::try_from((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days())
                    .unwrap_or_default()
            }));
            let params = ParamValues::from(vec![("day", day)]);
            Ok(run_sql(&view.session, sql, Some(params)).await?)
        })
        .await?;
    Ok(Json(rows_json(&rows, usize::MAX)))
}

#[derive(Debug, Deserialize, Default)]
pub struct ShareRequest {
    /// Days until the link stops working; never by default.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// `POST /api/dashboards/SLUG/share` (admin): `{"url", "token"}`.
pub async fn share(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Option<Json<ShareRequest>>,
) -> Result<Json<Value>, WebError> {
    authed.check_change(Role::Admin, &headers)?;
    if state.live.dashboards().get(&slug).is_none() {
        return Err(WebError::NoSuchDashboard { slug });
    }
    let expires = body
        .and_then(|Json(b)| b.expires_in_days)
        .map(|days| now_seconds() + i64::from(days) * 86_400);
    let token = state.accounts.new_share(&slug, &authed.user, expires)?;
    let host = header(&headers, HOST.as_str()).unwrap_or(crate::DEFAULT_LISTEN);
    tracing::info!(user = %authed.user.name, dashboard = %slug, "share link made");
    Ok(Json(
        json!({ "url": format!("http://{host}/s/{token}"), "token": token }),
    ))
}

/// `DELETE /api/shares/TOKEN` (admin): the link answers 404 from now on.
pub async fn revoke_share(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<StatusCode, WebError> {
    authed.check_change(Role::Admin, &headers)?;
    if state.accounts.revoke_share(&token)? {
        tracing::info!(user = %authed.user.name, "share link revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(WebError::NotFound {
            path: "/api/shares/… (no live share with this token)".to_owned(),
        })
    }
}

/// `GET /api/shares?dashboard=SLUG` (admin): the share links that still open.
pub async fn shares(
    State(state): State<AppState>,
    authed: Authed,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Vec<crate::accounts::ShareLink>>, WebError> {
    authed.require(Role::Admin)?;
    Ok(Json(
        state.accounts.live_shares(query.get("dashboard").map(String::as_str))?,
    ))
}

/// `DELETE /api/share-links/ID` (admin): revokes a link by the id `/api/shares` lists.
pub async fn revoke_share_link(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    authed.check_change(Role::Admin, &headers)?;
    if state.accounts.revoke_share_id(&id)? {
        tracing::info!(user = %authed.user.name, "share link revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(WebError::NotFound {
            path: "/api/share-links/… (no live share with this id)".to_owned(),
        })
    }
}
