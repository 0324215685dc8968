//! Listening: the socket and TLS are set up before anything is served, so a
//! bad setting stops the start (datafusion-postgres's own `serve` logs a bad
//! certificate and goes on in plain text).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use darkroom_pipeline::PgwireSection;
use pgwire::api::auth::DefaultServerParameterProvider;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ClientInfo, ConnectionManager, ErrorHandler, PgWireServerHandlers};
use pgwire::error::PgWireError;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::answer::Answering;
use crate::startup::Login;
use crate::{Passwords, PgwireError, Sessions};

/// The database name clients connect to (`psql -d darkroom`); the engine's catalog.
pub const DEFAULT_DATABASE: &str = "darkroom";

/// A bound, not yet serving, endpoint.
pub struct Endpoint {
    listener: std::net::TcpListener,
    addr: std::net::SocketAddr,
    tls: Option<TlsAcceptor>,
    require_tls: bool,
    max_connections: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("require_tls", &self.require_tls)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Checks `[pgwire]`, reads the TLS files and binds the address: every
    /// mistake is found here, before the app says it is serving.
    pub fn bind(settings: &PgwireSection, project_dir: &Path) -> Result<Self, PgwireError> {
        let tls = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(&project_dir.join(cert), &project_dir.join(key))?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(PgwireError::Setting {
                    key: "tls_key",
                    message: "tls_cert is set but tls_key is not; set both, or neither".to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(PgwireError::Setting {
                    key: "tls_cert",
                    message: "tls_key is set but tls_cert is not; set both, or neither".to_owned(),
                });
            }
        };
        if settings.require_tls && tls.is_none() {
            return Err(PgwireError::Setting {
                key: "require_tls",
                message: "require_tls = true needs tls_cert and tls_key".to_owned(),
            });
        }
        let listen_error = |source| PgwireError::Listen {
            addr: settings.listen.clone(),
            source,
        };
        let listener = std::net::TcpListener::bind(&settings.listen).map_err(listen_error)?;
        listener.set_nonblocking(true).map_err(listen_error)?;
        let addr = listener.local_addr().map_err(listen_error)?;
        Ok(Self {
            listener,
            addr,
            tls,
            require_tls: settings.require_tls,
            max_connections: settings.max_connections,
        })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until the runtime stops. Call on a runtime with the time and I/O drivers.
    pub async fn serve(self, sessions: Arc<dyn Sessions>, passwords: Arc<dyn Passwords>) -> Result<(), PgwireError> {
        let listener = tokio::net::TcpListener::from_std(self.listener).map_err(|source| PgwireError::Listen {
            addr: self.addr.to_string(),
            source,
        })?;
        let connections = Arc::new(ConnectionManager::new());
        let mut parameters = DefaultServerParameterProvider::default();
        parameters.is_superuser = false;
        parameters.default_transaction_read_only = true;
        let handlers = Arc::new(Handlers {
            answering: Arc::new(Answering::new(sessions).await?),
            passwords,
            require_tls: self.require_tls,
            parameters: Arc::new(parameters),
            cancel: Arc::new(DefaultCancelHandler::new(connections.clone())),
            connections,
        });
        let slots = Arc::new(Semaphore::new(self.max_connections.max(1)));
        tracing::info!(addr = %self.addr, tls = self.tls.is_some(), require_tls = self.require_tls, "Postgres endpoint listening");
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "Postgres endpoint: accept failed");
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, max_connections = self.max_connections, "Postgres endpoint: connection refused, at [pgwire] max_connections");
                continue;
            };
            let handlers = handlers.clone();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                if let Err(error) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                    tracing::debug!(%peer, %error, "Postgres endpoint: connection ended with an error");
                }
                drop(slot);
            });
        }
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, PgwireError> {
    let tls_error = |path: &Path, message: String| PgwireError::Tls {
        path: path.to_path_buf(),
        message,
    };
    let open = |path: &PathBuf| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| tls_error(path, e.to_string()))
    };
    let certs = rustls_pemfile::certs(&mut open(&cert.to_path_buf())?)
        .collect::<Result<Vec<CertificateDer<'static>>, _>>()
        .map_err(|e| tls_error(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(tls_error(cert, "holds no PEM certificate".to_owned()));
    }
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut open(&key.to_path_buf())?)
        .map_err(|e| tls_error(key, e.to_string()))?
        .ok_or_else(|| tls_error(key, "holds no PEM private key".to_owned()))?;
    // The provider named here, not the process default: lettre's TLS brings a second one.
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| tls_error(cert, format!("the certificate and key do not make a TLS server: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

struct Handlers {
    answering: Arc<Answering>,
    passwords: Arc<dyn Passwords>,
    require_tls: bool,
    parameters: Arc<DefaultServerParameterProvider>,
    connections: Arc<ConnectionManager>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.answering.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.answering.clone()
    }

    /// A handler per connection: it holds that connection's SCRAM exchange.
    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::new(Login::new(
            self.passwords.clone(),
            self.require_tls,
            self.parameters.clone(),
            self.connections.clone(),
        ))
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(LogErrors)
    }
}

struct LogErrors;

impl ErrorHandler for LogErrors {
    fn on_error<C: ClientInfo>(&self, client: &C, error: &mut PgWireError) {
        tracing::debug!(client = %client.socket_addr(), %error, "Postgres endpoint: error sent");
    }
}
