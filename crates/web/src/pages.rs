//! The app's HTML pages (maud). Each works without JavaScript: charts are SVG
//! drawn on the server, a chart's SQL and rows and a metric's catalog entry
//! open with `<details>`, filters are a plain GET form.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use darkroom_dashboards::{DashboardError, DatePreset, FilterKind, FilterValues, filter_options};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::AppState;
use crate::accounts::Role;
use crate::api::check_login;
use crate::auth::{
    Authed, Credential, LOGIN_CSRF_COOKIE, PageUser, clear_session_cookie, constant_time_eq, cookie, session_cookie,
};
use crate::chart_routes::{Answer, answer};
use crate::error::WebError;

/// Rows of a chart shown under "SQL and rows"; the CSV and XLSX have them all.
const ROWS_SHOWN: usize = 100;

fn layout(title: &str, who: Option<&Authed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(authed) = who {
                    meta name="csrf-token" content=(authed.csrf());
                }
                title { (title) " · darkroom" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header.top {
                    a.brand href="/" { "darkroom" }
                    @if let Some(authed) = who {
                        nav aria-label="Main" {
                            a href="/" { "Dashboards" }
                            a href="/tearsheet" { "Tearsheet" }
                            a href="/d/audit" { "Audit" }
                            a href="/d/pipeline" { "Pipeline" }
                            a href="/docs" { "Data dictionary" }
                            @if authed.user.role >= Role::Editor { a href="/sql" { "SQL" } }
                            @if authed.user.role >= Role::Admin { a href="/admin" { "Admin" } }
                        }
                        div.who {
                            span { (authed.user.name) " (" (authed.user.role.name()) ")" }
                            @if let Credential::Session { csrf, .. } = &authed.credential {
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Log out" }
                                }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An error as a page, with its status.
pub fn error_page(error: &WebError) -> Response {
    let body = html! {
        h1 { "Something is wrong" }
        p.error { (error.to_string()) }
        p { (error.hint()) }
        p { a href="/" { "Back to the dashboards" } }
    };
    (error.status(), Html(layout("Error", None, body).into_string())).into_response()
}

pub async fn not_found(uri: Uri) -> Response {
    error_page(&WebError::NotFound {
        path: uri.path().to_owned(),
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    error: Option<String>,
}

/// Only a path on this site: `next` must not send anyone elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub async fn login_page(Query(query): Query<LoginQuery>) -> Result<Response, WebError> {
    let csrf = crate::accounts::random_token()?;
    let next = safe_next(query.next.as_deref());
    let body = html! {
        form.login method="post" action="/login" {
            h1 { "Log in" }
            @if let Some(error) = &query.error {
                p.error role="alert" { (error) }
            }
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="next" value=(next);
            label { "User name" input type="text" name="user" autocomplete="username" required autofocus; }
            label { "Password" input type="password" name="password" autocomplete="current-password" required; }
            button.primary type="submit" { "Log in" }
        }
    };
    Ok((
        [(
            SET_COOKIE,
            format!("{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600"),
        )],
        Html(layout("Log in", None, body).into_string()),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let again = |message: String| {
        Redirect::to(&format!(
            "/login?next={}&error={}",
            crate::auth::url_encode(&next),
            crate::auth::url_encode(&message)
        ))
        .into_response()
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if !expected.is_some_and(|c| constant_time_eq(&c, &form.csrf)) {
        return again(WebError::Csrf.to_string());
    }
    match check_login(&state, &form.user, &form.password).await {
        Ok(user) => match state.accounts.start_session(&user) {
            Ok((id, _)) => ([(SET_COOKIE, session_cookie(&id))], Redirect::to(&next)).into_response(),
            Err(e) => error_page(&e),
        },
        Err(e) => again(e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout_form(
    State(state): State<AppState>,
    PageUser(authed): PageUser,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(e) = authed.check_csrf(Some(&form.csrf)) {
        return error_page(&e);
    }
    if let Credential::Session { id, .. } = &authed.credential
        && let Err(e) = state.accounts.end_session(id)
    {
        return error_page(&e);
    }
    ([(SET_COOKIE, clear_session_cookie())], Redirect::to("/login")).into_response()
}

pub async fn index(State(state): State<AppState>, PageUser(authed): PageUser) -> Html<String> {
    let dashboards = state.live.dashboards();
    let mut teams: Vec<&str> = dashboards
        .loaded
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|d| d.team.as_str())
        .collect();
    teams.sort_by_key(|t| {
        (
            darkroom_dashboards::TEAMS
                .iter()
                .position(|o| o == t)
                .unwrap_or(darkroom_dashboards::TEAMS.len()),
            *t,
        )
    });
    teams.dedup();
    let failed: Vec<&DashboardError> = dashboards.loaded.iter().filter_map(|d| d.as_ref().err()).collect();
    let body = html! {
        h1 { "Dashboards" }
        @if !failed.is_empty() {
            div.problems role="alert" {
                p { "These dashboard files did not load:" }
                ul { @for e in &failed { li { (e.to_string()) } } }
            }
        }
        div.teams {
            @for team in &teams {
                section.card {
                    h2 { (darkroom_metrics::sentence_case(team)) }
                    ul {
                        @for d in dashboards.loaded.iter().filter_map(|d| d.as_ref().ok()).filter(|d| d.team == *team) {
                            li { a href={ "/d/" (d.slug) } { (d.title) } " " span.definition { "(" (d.charts.len()) " charts)" } }
                        }
                    }
                }
            }
            section.card {
                h2 { "Reports" }
                ul {
                    li { a href="/tearsheet" { "Executive tearsheet" } }
                    li { a href="/docs" { "Data dictionary" } }
                }
            }
        }
    };
    Html(layout("Dashboards", Some(&authed), body).into_string())
}

/// Everything a dashboard page shows.
struct DashboardPage {
    dashboard: darkroom_dashboards::Dashboard,
    values: Result<FilterValues, WebError>,
    options: HashMap<String, Vec<String>>,
    charts: Vec<(darkroom_dashboards::Chart, Result<Answer, WebError>)>,
    catalog: Option<darkroom_metrics::Catalog>,
    audit_status: HashMap<String, Vec<(String, String)>>,
}

async fn load_dashboard_page(
    state: &AppState,
    slug: &str,
    query: HashMap<String, String>,
) -> Result<DashboardPage, WebError> {
    let dashboards = state.live.dashboards();
    let dashboard = dashboards
        .get(slug)
        .cloned()
        .ok_or_else(|| WebError::NoSuchDashboard { slug: slug.to_owned() })?;
    let view = state.live.view().await?;
    let values = FilterValues::resolve(&dashboard, &query, view.last_day).map_err(WebError::from);
    let mut options = HashMap::new();
    for filter in dashboard.filters.iter().filter(|f| f.kind == FilterKind::Select) {
        if let Some(sql) = &filter.options_sql {
            let worker = state.clone();
            let sql = sql.clone();
            let found = state
                .on_query_runtime(async move {
                    let view = worker.live.view().await?;
                    Ok(filter_options(&view.session, &worker.live.cache, &view.version, &sql).await?)
                })
                .await
                .unwrap_or_default();
            options.insert(filter.name.clone(), found);
        }
    }
    let answers = futures::future::join_all(
        dashboard
            .charts
            .iter()
            .map(|chart| answer(state, dashboard.clone(), chart.clone(), query.clone())),
    )
    .await;
    let charts = dashboard.charts.iter().cloned().zip(answers).collect();
    let metrics: Vec<String> = dashboard.charts.iter().filter_map(|c| c.metric.clone()).collect();
    let audit_status = latest_audit_status(state, &metrics).await;
    Ok(DashboardPage {
        dashboard,
        values,
        options,
        charts,
        catalog: view.catalog.clone(),
        audit_status,
    })
}

/// For each metric, its feeding checks' latest status: (check, status).
async fn latest_audit_status(state: &AppState, metrics: &[String]) -> HashMap<String, Vec<(String, String)>> {
    let worker = state.clone();
    let metrics = metrics.to_vec();
    state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            let Some(catalog) = view.catalog.as_ref() else {
                return Ok(HashMap::new());
            };
            Ok(darkroom_dashboards::latest_audit_status(
                &view.session,
                &worker.live.cache,
                &view.version,
                catalog,
                &metrics,
            )
            .await)
        })
        .await
        .unwrap_or_default()
}

fn filters_form(page: &DashboardPage, action: &str) -> Markup {
    let values = page.values.as_ref().ok();
    let value = |name: &str| values.and_then(|v| v.values.get(name).cloned()).unwrap_or_default();
    html! {
        @if !page.dashboard.filters.is_empty() {
            form.filters method="get" action=(action) aria-label="Filters" {
                @for filter in &page.dashboard.filters {
                    @match filter.kind {
                        FilterKind::DateRange => {
                            label {
                                (filter.label) " from"
                                input type="date" name={ (filter.name) "_start" } value=(value(&format!("{}_start", filter.name)));
                            }
                            label {
                                "to"
                                input type="date" name={ (filter.name) "_end" } value=(value(&format!("{}_end", filter.name)));
                            }
                            label {
                                "or a range"
                                select name=(filter.name) onchange="this.form.querySelectorAll('input[type=date]').forEach(i => i.value = ''); this.form.submit()" {
                                    option value="" { "—" }
                                    @for preset in DatePreset::ALL {
                                        option value=(preset.name()) { (preset.label()) }
                                    }
                                }
                            }
                        }
                        FilterKind::Select => {
                            label {
                                (filter.label)
                                select name=(filter.name) {
                                    @let chosen = value(&filter.name);
                                    option value="all" selected[chosen == "all"] { "All" }
                                    @for option in page.options.get(&filter.name).into_iter().flatten() {
                                        option value=(option) selected[*option == chosen] { (option) }
                                    }
                                }
                            }
                        }
                    }
                }
                button.primary type="submit" { "Apply" }
            }
        }
    }
}

fn number_cell(value: &serde_json::Value) -> Markup {
    match value {
        serde_json::Value::Number(n) => {
            let text = n
                .as_f64()
                .map(|f| darkroom_charts::format_number(f, darkroom_charts::NumberFormat::Count))
                .unwrap_or_default();
            html! { td.num { (text) } }
        }
        serde_json::Value::Null => html! { td { "" } },
        serde_json::Value::String(s) => html! { td { (s) } },
        other => html! { td { (other.to_string()) } },
    }
}

/// The first rows of an answer, with the count and time; the downloads have every row.
fn rows_table(answer: &Answer) -> Markup {
    let count = answer.rows.row_count();
    html! {
        p.definition {
            (darkroom_charts::format_number(count as f64, darkroom_charts::NumberFormat::Count)) " rows in "
            (answer.rows.elapsed_ms) " ms"
            @if count > ROWS_SHOWN { " (the first " (ROWS_SHOWN) " below; the CSV and XLSX have all)" }
        }
        div.scroll {
            table.rows {
                thead { tr { @for c in answer.rows.columns() { th scope="col" { (c.name) } } } }
                tbody {
                    @for row in answer.rows.json_rows(ROWS_SHOWN) {
                        tr { @for value in &row { (number_cell(value)) } }
                    }
                }
            }
        }
    }
}

/// Where a dashboard is shown: its own page, or a share link.
struct Place {
    /// The filter form's target.
    action: String,
    /// Where `ID.csv` and the other files of a chart are.
    links: String,
    query_string: String,
    /// A share link shows the rows, never the SQL: its readers are outside the warehouse.
    shows_sql: bool,
}

fn chart_card(
    page: &DashboardPage,
    chart: &darkroom_dashboards::Chart,
    answered: &Result<Answer, WebError>,
    place: &Place,
) -> Markup {
    let (links, query_string) = (&place.links, &place.query_string);
    let metric = chart.metric.as_deref().and_then(|m| page.catalog.as_ref()?.metric(m));
    let svg = answered
        .as_ref()
        .map_err(ToString::to_string)
        .and_then(|a| a.svg().map_err(|e| e.to_string()));
    let suffix = if query_string.is_empty() {
        String::new()
    } else {
        format!("?{query_string}")
    };
    html! {
        section.card.wide[chart.width > 1 || chart.kind == Some(darkroom_charts::ChartKind::Table)] id={ "chart-" (chart.id) } aria-labelledby={ "title-" (chart.id) } {
            h2 id={ "title-" (chart.id) } { (chart.title) }
            @if let Some(metric) = metric {
                details.info {
                    summary aria-label={ "About " (chart.title) } { "(i) about this metric" }
                    dl {
                        dt { "Metric" } dd { code { (metric.name) } }
                        dt { "Definition" } dd { (metric.definition) }
                        dt { "Owner" } dd { (metric.team.name()) " team" }
                        dt { "Funnel stage" } dd { (metric.stage.name()) }
                        dt { "Unit" } dd { (metric.unit.name()) }
                        dt { "Reads" } dd { (metric.reads.join(", ")) }
                        dt { "Latest audits" } dd {
                            @match page.audit_status.get(&metric.name) {
                                Some(checks) => {
                                    @for (check, status) in checks {
                                        span class={ "status-" (status) } { (check) ": " (status) } " "
                                    }
                                }
                                None => { "no audit checks this metric" }
                            }
                        }
                    }
                    @if place.shows_sql { pre { (metric.display_sql()) } }
                }
            }
            @match (&svg, answered) {
                (Err(message), _) => { p.chart-error role="alert" { (message) } }
                // A table reads better as HTML on a page; its SVG is for email.
                (Ok(_), Ok(answer)) if chart.kind == Some(darkroom_charts::ChartKind::Table) => {
                    (rows_table(answer))
                }
                (Ok(svg), _) => { (PreEscaped(svg)) }
            }
            @if let Some(metric) = metric {
                p.definition { (metric.definition) " · owner: " (metric.team.name()) " team" }
            } @else if let Some(description) = &chart.description {
                p.definition { (description) }
            }
            details.sql {
                summary { @if place.shows_sql { "SQL and rows" } @else { "Rows" } }
                @if place.shows_sql { pre { (chart.sql) } }
                @if let Ok(answer) = answered {
                    (rows_table(answer))
                }
            }
            div.actions {
                a href={ (links) (chart.id) ".csv" (suffix) } download { "CSV" }
                a href={ (links) (chart.id) ".xlsx" (suffix) } download { "XLSX" }
                a href={ (links) (chart.id) ".svg" (suffix) } { "SVG" }
            }
        }
    }
}

fn dashboard_body(page: &DashboardPage, place: &Place) -> Markup {
    let d = &page.dashboard;
    html! {
        h1 { (d.title) }
        @if let Some(description) = &d.description { p.lede { (description) } }
        @if let Err(e) = &page.values {
            div.problems role="alert" { p { (e.to_string()) ": " (e.hint()) } }
        }
        @if !d.problems.is_empty() {
            div.problems role="alert" { ul { @for p in &d.problems { li { (p) } } } }
        }
        (filters_form(page, &place.action))
        div.grid {
            @for (chart, answered) in &page.charts {
                (chart_card(page, chart, answered, place))
            }
        }
    }
}

fn query_string(uri: &Uri) -> String {
    uri.query().unwrap_or_default().to_owned()
}

pub async fn dashboard_page(
    State(state): State<AppState>,
    PageUser(authed): PageUser,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    match load_dashboard_page(&state, &slug, query).await {
        Ok(page) => {
            let place = Place {
                action: format!("/d/{slug}"),
                links: "/charts/".to_owned(),
                query_string: query_string(&uri),
                shows_sql: true,
            };
            let body = html! {
                (dashboard_tools(&authed, &slug))
                (dashboard_body(&page, &place))
                @if authed.user.role >= Role::Editor { script src="/static/api.js" {} script src="/static/edit.js" {} }
            };
            Html(layout(&page.dashboard.title, Some(&authed), body).into_string()).into_response()
        }
        Err(e) => error_page(&e),
    }
}

/// What an editor changes on a dashboard (charts, their order and width,
/// filters, versions) and what an admin shares; `edit.js` does the work.
fn dashboard_tools(authed: &Authed, slug: &str) -> Markup {
    if authed.user.role < Role::Editor {
        return html! {};
    }
    html! {
        div.edit-bar #edit-bar data-slug=(slug) {
            a.button href={ "/sql?dashboard=" (slug) } { "Add a chart" }
            button #arrange type="button" aria-pressed="false" { "Arrange charts" }
            a.button href={ "/d/" (slug) "/history" } { "History" }
            details.tool {
                summary { "Add a filter" }
                form #add-filter {
                    label { "Name " input name="name" type="text" required pattern="[A-Za-z0-9_]+"; }
                    label { "Kind " select name="kind" { option value="date_range" { "date range" } option value="select" { "select" } } }
                    label { "Default " input name="default" type="text" placeholder="last_28_days, or all"; }
                    label { "Options query (select) " input name="options_sql" type="text" placeholder="SELECT DISTINCT client FROM daily_metrics_by_client"; }
                    button type="submit" { "Add filter" }
                }
            }
            @if authed.user.role >= Role::Admin {
                details.tool #share-panel {
                    summary { "Share" }
                    label { "Expires after (days, empty: never) " input #share-days type="number" min="1"; }
                    button #make-share type="button" { "Create a share link" }
                    p #share-made role="status" {}
                    ul #share-list {}
                }
            }
            p #edit-status role="status" {}
        }
    }
}

/// A shared dashboard, without a login: only its own charts, filters as typed values.
pub async fn shared_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let share = match state.accounts.share(&token) {
        Ok(Some(share)) => share,
        Ok(None) => {
            return error_page(&WebError::NotFound {
                path: "/s/… (this share link was revoked, expired or never existed)".to_owned(),
            });
        }
        Err(e) => return error_page(&e),
    };
    match load_dashboard_page(&state, &share.dashboard, query).await {
        Ok(page) => {
            let place = Place {
                action: format!("/s/{token}"),
                links: format!("/s/{token}/charts/"),
                query_string: query_string(&uri),
                shows_sql: false,
            };
            let body = dashboard_body(&page, &place);
            Html(layout(&page.dashboard.title, None, body).into_string()).into_response()
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct SqlQuery {
    /// A chart to edit: its SQL and settings are loaded, and Save changes it.
    chart: Option<String>,
    /// The dashboard Save adds to by default.
    dashboard: Option<String>,
}

/// The SQL editor (editor role): schema browser, CodeMirror with autocomplete,
/// results, a chart of them, saving to a dashboard, and a chart's versions.
pub async fn sql_page(
    State(state): State<AppState>,
    PageUser(authed): PageUser,
    Query(query): Query<SqlQuery>,
) -> Response {
    if let Err(e) = authed.require(Role::Editor) {
        return error_page(&e);
    }
    let dashboards = state.live.dashboards();
    let editing = match query.chart.as_deref() {
        Some(id) => match dashboards.chart(id) {
            Some((dashboard, chart)) => Some((dashboard.slug.clone(), chart.clone())),
            None => return error_page(&WebError::NoSuchChart { id: id.to_owned() }),
        },
        None => None,
    };
    let chosen = editing
        .as_ref()
        .map(|(slug, _)| slug.clone())
        .or(query.dashboard)
        .unwrap_or_default();
    let first_sql = editing.as_ref().map_or(
        "SELECT date, value\nFROM daily_metrics\nWHERE metric = 'dau'\nORDER BY date",
        |(_, chart)| chart.sql.as_str(),
    );
    let kinds = darkroom_charts::ChartKind::NAMES;
    let body = html! {
        h1 { @if let Some((_, chart)) = &editing { "Edit chart: " (chart.title) } @else { "SQL" } }
        p.lede { "Read-only queries over the warehouse, bounded as " code { "darkroom sql" } ". Ctrl+Enter runs; Ctrl+Space completes tables and columns." }
        div.sql-layout #sql-app data-chart=[editing.as_ref().map(|(_, c)| c.id.as_str())] data-dashboard=(chosen) {
            aside.schema aria-label="Schema" {
                h2 { "Tables" }
                label for="schema-filter" { "Find a table or column" }
                input #schema-filter type="search" autocomplete="off";
                div #schema-tree { p.definition { "Loading the schema…" } }
            }
            div.sql-main {
                div #editor.editor {}
                textarea #sql-text hidden aria-label="SQL query (plain)" { (first_sql) }
                p.buttons {
                    button.primary #run type="button" { "Run" }
                    " "
                    button #cancel type="button" disabled { "Cancel" }
                }
                p #sql-status role="status" {}
                div.scroll #sql-result {}
                section.card #chart-builder hidden aria-labelledby="chart-builder-title" {
                    h2 #chart-builder-title { "Chart" }
                    div.chart-form {
                        label { "Title " input #chart-title type="text" value=[editing.as_ref().map(|(_, c)| c.title.as_str())]; }
                        label { "Kind " select #chart-kind { @for kind in kinds { option value=(kind) { (kind) } } } }
                        label { "x " select #chart-x {} }
                        label { "Series " select #chart-series {} }
                        fieldset #chart-y { legend { "y" } }
                    }
                    div #chart-preview {}
                    div.chart-form {
                        label { "Dashboard "
                            select #chart-dashboard {
                                @for d in dashboards.loaded.iter().filter_map(|d| d.as_ref().ok()) {
                                    option value=(d.slug) selected[d.slug == chosen] { (d.title) }
                                }
                                option value="" { "A new dashboard…" }
                            }
                        }
                        label #new-dashboard-title-label hidden { "New dashboard's title " input #new-dashboard-title type="text"; }
                        label #new-dashboard-team-label hidden { "Team "
                            select #new-dashboard-team { @for team in darkroom_dashboards::TEAMS { option value=(team) { (team) } } }
                        }
                        button.primary #save-chart type="button" {
                            @if editing.is_some() { "Save chart" } @else { "Save to dashboard" }
                        }
                    }
                    p #save-status role="status" {}
                }
                @if editing.is_some() {
                    section.card #chart-history aria-labelledby="history-title" {
                        h2 #history-title { "Versions of this chart" }
                        div #history-list { p.definition { "Loading…" } }
                    }
                }
            }
        }
        script src="/static/editor.js" {}
        script src="/static/api.js" {}
        script src="/static/sql.js" {}
    };
    Html(layout("SQL", Some(&authed), body).into_string()).into_response()
}

/// A dashboard's versions: who saved each and when, its diff from the one
/// before, and (editor) a restore.
pub async fn history_page(
    State(state): State<AppState>,
    PageUser(authed): PageUser,
    Path(slug): Path<String>,
) -> Response {
    let versions = match state.live.history.sources(&slug) {
        Ok(versions) if !versions.is_empty() => versions,
        Ok(_) => return error_page(&WebError::NoSuchDashboard { slug }),
        Err(e) => return error_page(&e),
    };
    let can_restore = authed.user.role >= Role::Editor;
    let latest = versions.last().map(|(info, _)| info.version);
    let first = versions.first().map_or(1, |(info, _)| info.version);
    let mut shown = Vec::new();
    let mut previous: Option<(i64, &str)> = None;
    for (info, text) in &versions {
        let diff = crate::history::diff(
            previous.map_or("", |(_, t)| t),
            text,
            &previous.map_or_else(|| "(nothing)".to_owned(), |(v, _)| format!("version {v}")),
            &format!("version {}", info.version),
        );
        shown.push((info, diff));
        previous = Some((info.version, text));
    }
    shown.reverse();
    let body = html! {
        h1 { "History of " a href={ "/d/" (slug) } { (slug) } }
        p.lede { "Every version of " code { "dashboards/" (slug) ".toml" } ", from the app and from the file, kept without a limit." }
        div #edit-status role="status" {}
        @for (info, diff) in &shown {
            section.card.wide.version id={ "version-" (info.version) } aria-labelledby={ "v-" (info.version) } {
                h2 id={ "v-" (info.version) } { "Version " (info.version) @if Some(info.version) == latest { " (current)" } }
                p.definition { (info.note) " · by " (info.author) " · " (format_time(info.saved_at)) }
                @if info.version == first {
                    details.sql { summary { "The whole file" } (diff_block(diff)) }
                } @else {
                    (diff_block(diff))
                }
                @if can_restore && Some(info.version) != latest {
                    button.restore type="button" data-slug=(slug) data-version=(info.version) { "Restore version " (info.version) }
                }
            }
        }
        script src="/static/api.js" {}
        script src="/static/edit.js" {}
    };
    Html(layout(&format!("History of {slug}"), Some(&authed), body).into_string()).into_response()
}

/// A unified diff with its added and removed lines marked.
fn diff_block(diff: &str) -> Markup {
    html! {
        pre.diff { @for line in diff.lines() {
            @let class = if line.starts_with("+++") || line.starts_with("---") { "head" } else if line.starts_with('+') { "add" } else if line.starts_with('-') { "del" } else if line.starts_with("@@") { "hunk" } else { "same" };
            span class=(class) { (line) } "\n"
        } }
    }
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM UTC`.
fn format_time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

#[derive(Debug, Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
}

async fn tearsheet(state: &AppState, week: Option<&str>) -> Result<darkroom_metrics::Tearsheet, WebError> {
    let end = week
        .map(darkroom_metrics::parse_week)
        .transpose()
        .map_err(|e| WebError::BadRequest { message: e.to_string() })?;
    let worker = state.clone();
    state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            darkroom_pipeline::project_tearsheet(&worker.live.project, &view.session, end)
                .await?
                .ok_or(WebError::NoTearsheet)
        })
        .await
}

/// A standalone report page with the app's links put at its top.
fn with_app_bar(document: &str, links: Markup) -> String {
    let bar = html! {
        nav aria-label="darkroom" style="font: 14px sans-serif; padding: .5rem 0 1rem; display: flex; gap: 1rem;" {
            a href="/" { "← Dashboards" }
            (links)
        }
    }
    .into_string();
    match document.find("<body>") {
        Some(at) => {
            let split = at + "<body>".len();
            format!("{}{}{}", &document[..split], bar, &document[split..])
        }
        None => format!("{bar}{document}"),
    }
}

pub async fn tearsheet_page(
    State(state): State<AppState>,
    PageUser(_authed): PageUser,
    Query(query): Query<WeekQuery>,
) -> Response {
    match tearsheet(&state, query.week.as_deref()).await {
        Ok(sheet) => {
            let week = query.week.map(|w| format!("?week={w}")).unwrap_or_default();
            let links = html! {
                a href={ "/tearsheet.csv" (week) } download { "Download CSV" }
                a href={ "/tearsheet.xlsx" (week) } download { "Download XLSX" }
            };
            Html(with_app_bar(&sheet.to_html(), links)).into_response()
        }
        Err(e) => error_page(&e),
    }
}

pub async fn tearsheet_csv(
    State(state): State<AppState>,
    _authed: Authed,
    Query(query): Query<WeekQuery>,
) -> Result<Response, WebError> {
    let sheet = tearsheet(&state, query.week.as_deref()).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, "attachment; filename=\"tearsheet.csv\"".to_owned()),
        ],
        sheet.to_csv(),
    )
        .into_response())
}

pub async fn tearsheet_xlsx(
    State(state): State<AppState>,
    _authed: Authed,
    Query(query): Query<WeekQuery>,
) -> Result<Response, WebError> {
    let sheet = tearsheet(&state, query.week.as_deref()).await?;
    let bytes = sheet
        .xlsx_bytes()
        .map_err(|e| WebError::Pipeline(darkroom_pipeline::PipelineError::from(e)))?;
    Ok((
        [
            (
                CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"tearsheet.xlsx\"".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub async fn docs_page(State(state): State<AppState>, PageUser(_authed): PageUser) -> Response {
    let worker = state.clone();
    let dictionary = state
        .on_query_runtime(async move {
            let view = worker.live.view().await?;
            Ok(darkroom_pipeline::project_dictionary(&worker.live.project, &view.session).await?)
        })
        .await;
    match dictionary {
        Ok(dictionary) => Html(with_app_bar(&dictionary.to_html(), html! {})).into_response(),
        Err(e) => error_page(&e),
    }
}

pub async fn admin_page(State(state): State<AppState>, PageUser(authed): PageUser) -> Response {
    if let Err(e) = authed.require(Role::Admin) {
        return error_page(&e);
    }
    let users = match state.accounts.users() {
        Ok(users) => users,
        Err(e) => return error_page(&e),
    };
    let shares = match state.accounts.live_shares(None) {
        Ok(shares) => shares,
        Err(e) => return error_page(&e),
    };
    let body = html! {
        h1 { "Admin" }
        section.card {
            h2 { "Users" }
            p.definition { "Add and change users with " code { "darkroom user" } "." }
            table.rows {
                thead { tr { th scope="col" { "name" } th scope="col" { "role" } } }
                tbody { @for u in &users { tr { td { (u.name) } td { (u.role.name()) } } } }
            }
        }
        section.card {
            h2 { "Share links" }
            p.definition { "Links that open a dashboard without a login. Make one from the dashboard's Share; a revoked link answers 404." }
            p #edit-status role="status" {}
            @if shares.is_empty() { p { "No live share links." } } @else {
                table.rows {
                    thead { tr { th scope="col" { "dashboard" } th scope="col" { "made by" } th scope="col" { "made" } th scope="col" { "expires" } th scope="col" { "" } } }
                    tbody { @for share in &shares { tr {
                        td { a href={ "/d/" (share.dashboard) } { (share.dashboard) } }
                        td { (share.created_by) }
                        td { (format_time(share.created)) }
                        td { (share.expires.map_or_else(|| "never".to_owned(), format_time)) }
                        td { button.revoke-share type="button" data-id=(share.id) aria-label={ "Revoke the link to " (share.dashboard) } { "Revoke" } }
                    } } }
                }
            }
        }
        script src="/static/api.js" {}
        script src="/static/edit.js" {}
    };
    (StatusCode::OK, Html(layout("Admin", Some(&authed), body).into_string())).into_response()
}
