use std::path::{Path, PathBuf};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything a request or an account command can fail with. Each says what
/// went wrong and where; [`WebError::hint`] says what to do; the status is the
/// HTTP answer's.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("log in first")]
    NotLoggedIn,

    #[error("this needs the {needed} role; {user} is a {has}")]
    Forbidden {
        user: String,
        has: &'static str,
        needed: &'static str,
    },

    #[error("wrong user name or password")]
    BadLogin,

    #[error("too many failed logins for {user}; try again in {seconds} s")]
    Throttled { user: String, seconds: u64 },

    #[error("the form's CSRF token is missing or wrong")]
    Csrf,

    #[error("no dashboard {slug:?}")]
    NoSuchDashboard { slug: String },

    #[error("no chart {id:?} on any dashboard")]
    NoSuchChart { id: String },

    #[error("no such page: {path}")]
    NotFound { path: String },

    #[error("bad request: {message}")]
    BadRequest { message: String },

    #[error("{0}")]
    Dashboard(#[from] darkroom_dashboards::DashboardError),

    #[error("{0}")]
    Pipeline(#[from] darkroom_pipeline::PipelineError),

    #[error("cannot draw chart {chart:?}: {source}")]
    Draw {
        chart: String,
        source: darkroom_charts::ChartError,
    },

    #[error("state database {}: {message}", path.display())]
    State { path: PathBuf, message: String },

    #[error("state database: {message}")]
    Sql { message: String },

    #[error("the operating system gave no random bytes: {message}")]
    Random { message: String },

    #[error("password hashing failed: {message}")]
    Hash { message: String },

    #[error("a password needs at least {} characters", crate::accounts::MIN_PASSWORD_CHARS)]
    WeakPassword,

    #[error("unknown role {role:?}: expected admin, editor or viewer")]
    BadRole { role: String },

    #[error("user name {name:?} has characters other than letters, digits, '.', '_', '-' and '@'")]
    BadUserName { name: String },

    #[error("user {name:?} already exists")]
    UserExists { name: String },

    #[error("no user {name:?}")]
    NoSuchUser { name: String },

    #[error("no tearsheet yet: the warehouse has no daily_metrics")]
    NoTearsheet,

    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },

    #[error("the query's worker stopped: {message}")]
    Worker { message: String },

    #[error("{chart}: {source}")]
    ChartSql {
        chart: String,
        source: darkroom_warehouse::WarehouseError,
    },

    #[error("dashboard {slug:?} changed since version {base}: version {latest} was saved by {by}")]
    Conflict {
        slug: String,
        base: i64,
        latest: i64,
        by: String,
    },

    #[error("dashboard {slug:?} exists already")]
    DashboardExists { slug: String },

    #[error("dashboard {slug:?} has no version {version}")]
    NoSuchVersion { slug: String, version: i64 },

    #[error("the query was cancelled")]
    Cancelled,
}

impl WebError {
    pub(crate) fn state(path: &Path, e: &rusqlite::Error) -> Self {
        Self::State {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }

    pub(crate) fn sql(e: rusqlite::Error) -> Self {
        Self::Sql { message: e.to_string() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotLoggedIn | Self::BadLogin => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NoSuchDashboard { .. } | Self::NoSuchChart { .. } | Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::BadRequest { .. }
            | Self::WeakPassword
            | Self::BadRole { .. }
            | Self::BadUserName { .. }
            | Self::UserExists { .. }
            | Self::NoSuchUser { .. } => StatusCode::BAD_REQUEST,
            Self::Dashboard(e) => match e {
                darkroom_dashboards::DashboardError::BadFilterValue { .. } => StatusCode::BAD_REQUEST,
                darkroom_dashboards::DashboardError::Query(q) => query_status(q),
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Self::Draw { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NoTearsheet | Self::NoSuchVersion { .. } => StatusCode::NOT_FOUND,
            Self::ChartSql { source, .. } => query_status(source),
            Self::Conflict { .. } | Self::DashboardExists { .. } => StatusCode::CONFLICT,
            // nginx's "client closed request": the asker stopped it.
            Self::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A mistake in what the user asked for (a name, a role, an address), not a failure of the work.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::WeakPassword
                | Self::BadRole { .. }
                | Self::BadUserName { .. }
                | Self::UserExists { .. }
                | Self::NoSuchUser { .. }
                | Self::Listen { .. }
        )
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Self::NotLoggedIn => "log in at /login, or send `Authorization: Bearer TOKEN` (darkroom user token NAME)",
            Self::Forbidden { .. } => "ask an admin to change your role: darkroom user role NAME ROLE",
            Self::BadLogin => "check the name and password; an admin can reset it with darkroom user passwd NAME",
            Self::Throttled { .. } => "wait, then log in again with the right password",
            Self::Csrf => "reload the page and send the form again",
            Self::NoSuchDashboard { .. } => "the dashboards are the files in the project's dashboards/ folder; see /",
            Self::NoSuchChart { .. } => "chart ids are in the dashboards' files ([[charts]] id)",
            Self::NotFound { .. } => "see / for the dashboards",
            Self::BadRequest { .. } => "fix the request as the message says",
            Self::Dashboard(e) => e.hint(),
            Self::Pipeline(e) => e.hint(),
            Self::Draw { source, .. } => source.hint(),
            Self::State { .. } | Self::Sql { .. } => {
                "check that state.db in the project folder is readable and writable"
            }
            Self::Random { .. } | Self::Hash { .. } | Self::Worker { .. } => "try again; if it persists, report it",
            Self::WeakPassword => "choose a longer password",
            Self::BadRole { .. } => "use --role admin, editor or viewer",
            Self::BadUserName { .. } => "choose a name of letters, digits, '.', '_', '-' and '@'",
            Self::UserExists { .. } => "choose another name, or change this user's password: darkroom user passwd NAME",
            Self::NoSuchUser { .. } => "see the users with darkroom user list",
            Self::NoTearsheet => "run the nightly run first: darkroom run --date YYYY-MM-DD",
            Self::Listen { .. } => "choose a free address with --listen HOST:PORT",
            Self::ChartSql { source, .. } => source.hint(),
            Self::Conflict { .. } => {
                "reload to see their change, then make yours again (both versions are in the dashboard's history)"
            }
            Self::DashboardExists { .. } => "choose another title or slug, or add the chart to that dashboard",
            Self::NoSuchVersion { .. } => "see the dashboard's versions at /api/dashboards/SLUG/versions",
            Self::Cancelled => "run it again when you want its answer",
        }
    }
}

fn query_status(error: &darkroom_warehouse::WarehouseError) -> StatusCode {
    use darkroom_warehouse::WarehouseError as W;
    match error {
        W::Sql { .. } | W::NotReadOnly { .. } | W::NoSuchTable { .. } => StatusCode::BAD_REQUEST,
        W::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        W::MemoryLimit { .. } => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `{"error": "...", "hint": "..."}` with the matching status (web.md).
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string(), "hint": self.hint() })),
        )
            .into_response()
    }
}
