use std::path::PathBuf;

/// What stops the endpoint from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum PgwireError {
    #[error("[pgwire] {key} in darkroom.toml: {message}")]
    Setting { key: &'static str, message: String },

    #[error("[pgwire] TLS file {}: {message}", path.display())]
    Tls { path: PathBuf, message: String },

    #[error("the Postgres endpoint cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },

    #[error("the Postgres endpoint cannot open the warehouse: {message}")]
    Session { message: String },
}

impl PgwireError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Setting { .. } => {
                "fix that key in darkroom.toml (docs/guide.md, \"Postgres clients\", lists the keys of [pgwire])"
            }
            Self::Tls { .. } => {
                "tls_cert and tls_key are PEM files (the key in PKCS#8), relative to the project folder; \
                 the endpoint never falls back to plain text when they cannot be read"
            }
            Self::Listen { .. } => {
                "another program holds the port: stop it, or set [pgwire] listen = \"127.0.0.1:PORT\" \
                 (or enabled = false to serve without the endpoint)"
            }
            Self::Session { .. } => "run `darkroom run` once so the warehouse has tables, then start again",
        }
    }
}

/// A Postgres error a client sees: severity, SQLSTATE, message and what to do.
pub(crate) fn with_hint(severity: &str, code: &str, message: String, hint: &str) -> pgwire::error::PgWireError {
    let mut info = pgwire::error::ErrorInfo::new(severity.to_owned(), code.to_owned(), message);
    info.hint = Some(hint.to_owned());
    pgwire::error::PgWireError::UserError(Box::new(info))
}
