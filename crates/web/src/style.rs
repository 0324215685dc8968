//! The app's stylesheet and scripts, served from the binary. The SQL editor
//! (`assets/editor.js`) is CodeMirror 6 bundled by `editor/build.sh` and
//! committed, so building darkroom needs no Node.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

pub const CSS: &str = include_str!("style.css");

/// The files under `/static/`, by name: (content type, bytes).
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/api.js"),
    ),
    (
        "editor.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/editor.js"),
    ),
    (
        "sql.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/sql.js"),
    ),
    (
        "edit.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/edit.js"),
    ),
];

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
}

/// `GET /static/NAME`: a script of the app.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => {
            ([(CONTENT_TYPE, *content_type), (CACHE_CONTROL, "max-age=3600")], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
