//! The web app (`darkroom serve`): accounts, the dashboards of `dashboards/*.toml`
//! with charts drawn on the server, the tearsheet, the audits, the data
//! dictionary, exports, share links and the JSON API of web.md.
//!
//! Requests are answered on the server's runtime; the SQL they run goes to a
//! runtime of its own ([`AppState::on_query_runtime`]), so a heavy query never
//! holds the workers that answer the next page.

mod accounts;
mod api;
mod auth;
mod authoring;
mod chart_routes;
mod error;
mod history;
mod live;
mod pages;
mod sql_editor;
mod style;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{delete, get, post, put};
use darkroom_pipeline::Project;

pub use accounts::{Accounts, MIN_PASSWORD_CHARS, PasswordState, Role, ShareLink, User};
pub use error::WebError;
pub use history::{History, VersionInfo};
pub use live::{CHECK_EVERY, Live};

/// The default address of `darkroom serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// What the chart cache may hold.
pub const CACHE_LIMIT_MB: usize = 256;

#[derive(Debug)]
pub struct Inner {
    pub live: Live,
    pub accounts: Accounts,
    pub throttle: auth::Throttle,
    queries: tokio::runtime::Handle,
    /// Saves of dashboard files, one at a time.
    saving: tokio::sync::Mutex<()>,
    schema: sql_editor::SchemaCache,
    /// The editor's running queries, by [`sql_editor::running_key`], to cancel.
    running: Mutex<HashMap<String, tokio::task::AbortHandle>>,
}

/// Stops a query when nobody waits for its answer any more (the request was
/// dropped, or cancelled).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Everything a handler reaches: the project's live view, the accounts.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The app over `project`; its queries run on `queries`.
    pub async fn open(project: Project, queries: tokio::runtime::Handle) -> Result<Self, WebError> {
        let accounts = Accounts::open(&project.dir.join(darkroom_pipeline::STATE_FILE))?;
        let live = Live::open(project, CACHE_LIMIT_MB).await?;
        Ok(Self(Arc::new(Inner {
            live,
            accounts,
            throttle: auth::Throttle::default(),
            queries,
            saving: tokio::sync::Mutex::new(()),
            schema: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
        })))
    }

    /// Runs `work` (SQL, drawing) on the query runtime and waits for it.
    pub async fn on_query_runtime<T, F>(&self, work: F) -> Result<T, WebError>
    where
        F: Future<Output = Result<T, WebError>> + Send + 'static,
        T: Send + 'static,
    {
        self.on_query_runtime_as(None, work).await
    }

    /// As [`Self::on_query_runtime`]; with a `key`, the work can be stopped by
    /// `/api/query/cancel` until it ends.
    pub async fn on_query_runtime_as<T, F>(&self, key: Option<String>, work: F) -> Result<T, WebError>
    where
        F: Future<Output = Result<T, WebError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.queries.spawn(work);
        let _stop_if_dropped = AbortOnDrop(task.abort_handle());
        if let Some(key) = &key {
            self.running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key.clone(), task.abort_handle());
        }
        let outcome = task.await;
        if let Some(key) = &key {
            self.running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(key);
        }
        match outcome {
            Ok(answer) => answer,
            Err(e) if e.is_cancelled() => Err(WebError::Cancelled),
            Err(e) => Err(WebError::Worker { message: e.to_string() }),
        }
    }
}

impl AppState {
    /// Every chart of every dashboard answered for its default filters, so the
    /// first reader after a night waits for nothing (`[schedule] refresh`).
    /// Answers already cached for the current data are not computed again.
    pub async fn refresh_dashboards(&self) -> Result<usize, WebError> {
        let dashboards = self.live.dashboards();
        let mut answered = 0;
        for dashboard in dashboards.loaded.iter().filter_map(|d| d.as_ref().ok()) {
            for chart in dashboard.charts.iter().filter(|c| c.problem.is_none()) {
                chart_routes::answer(self, dashboard.clone(), chart.clone(), Default::default()).await?;
                answered += 1;
            }
        }
        Ok(answered)
    }
}

/// The whole app's routes (web.md).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/favicon.ico", get(|| async { axum::http::StatusCode::NO_CONTENT }))
        .route("/login", get(pages::login_page).post(pages::login_form))
        .route("/logout", post(pages::logout_form))
        .route("/", get(pages::index))
        .route("/d/{slug}", get(pages::dashboard_page))
        .route("/s/{token}", get(pages::shared_page))
        .route("/s/{token}/charts/{file}", get(chart_routes::shared_chart_file))
        .route("/sql", get(pages::sql_page))
        .route("/tearsheet", get(pages::tearsheet_page))
        .route("/tearsheet.csv", get(pages::tearsheet_csv))
        .route("/tearsheet.xlsx", get(pages::tearsheet_xlsx))
        .route("/docs", get(pages::docs_page))
        .route("/admin", get(pages::admin_page))
        .route("/charts/{file}", get(chart_routes::chart_file))
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/query", post(api::query))
        .route("/api/query/cancel", post(sql_editor::cancel))
        .route("/api/schema", get(sql_editor::schema))
        .route("/api/chart-preview", post(sql_editor::preview))
        .route(
            "/api/dashboards",
            get(api::dashboards).post(authoring::create_dashboard),
        )
        .route(
            "/api/dashboards/{slug}",
            get(api::dashboard).put(authoring::put_dashboard),
        )
        .route("/api/dashboards/{slug}/source", get(authoring::dashboard_source))
        .route("/api/dashboards/{slug}/charts", post(authoring::add_chart))
        .route("/api/dashboards/{slug}/versions", get(authoring::dashboard_versions))
        .route(
            "/api/dashboards/{slug}/versions/{version}",
            get(authoring::dashboard_version),
        )
        .route(
            "/api/dashboards/{slug}/versions/{version}/restore",
            post(authoring::restore_dashboard),
        )
        .route("/api/dashboards/{slug}/share", post(api::share))
        .route("/api/shares", get(api::shares))
        .route("/api/shares/{token}", delete(api::revoke_share))
        .route("/api/share-links/{id}", delete(api::revoke_share_link))
        .route(
            "/api/charts/{id}",
            put(authoring::put_chart).delete(authoring::delete_chart),
        )
        .route("/api/charts/{id}/data", get(api::chart_data))
        .route("/api/charts/{id}/versions", get(authoring::chart_history))
        .route(
            "/api/charts/{id}/versions/{version}/restore",
            post(authoring::restore_chart),
        )
        .route("/api/audits", get(api::audits))
        .route("/d/{slug}/history", get(pages::history_page))
        .route("/static/style.css", get(style::stylesheet))
        .route("/static/{file}", get(style::asset))
        .fallback(pages::not_found)
        .with_state(state)
}

/// Serves `project` on `listen` until Ctrl-C; the queries get a runtime of their own.
/// `ready` is told the address and the app once it listens (the binary starts
/// the schedules there).
pub fn serve(project: Project, listen: &str, ready: impl FnOnce(SocketAddr, &AppState)) -> Result<(), WebError> {
    let queries = tokio::runtime::Builder::new_multi_thread()
        .thread_name("darkroom-query")
        .enable_all()
        .build()
        .map_err(|e| WebError::Worker { message: e.to_string() })?;
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("darkroom-web")
        .enable_all()
        .build()
        .map_err(|e| WebError::Worker { message: e.to_string() })?;
    let handle = queries.handle().clone();
    let outcome = server.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| WebError::Listen {
                addr: listen.to_owned(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| WebError::Listen {
            addr: listen.to_owned(),
            source,
        })?;
        let state = AppState::open(project, handle).await?;
        ready(addr, &state);
        tracing::info!(%addr, "serving");
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|source| WebError::Listen {
                addr: listen.to_owned(),
                source,
            })
    });
    server.shutdown_background();
    queries.shutdown_background();
    outcome
}
