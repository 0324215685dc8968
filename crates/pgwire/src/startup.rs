//! Logging in: darkroom's own accounts, by SCRAM-SHA-256, and TLS when it is required.
//!
//! One handler per connection (pgwire asks the server's handlers for a startup
//! handler as each connection starts), so the exchange's state is the connection's.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::{DefaultServerParameterProvider, StartupHandler, finish_authentication};
use pgwire::api::{
    ClientInfo, ConnectionManager, PgWireConnectionState, PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::sync::Mutex;

use crate::scram::{self, AwaitingFinal, ScramFailure, Verifier};
use crate::{PasswordCheck, Passwords};

const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

enum Exchange {
    Started,
    ServerFirstSent(Box<AwaitingFinal>),
    Done,
}

pub struct Login {
    passwords: Arc<dyn Passwords>,
    require_tls: bool,
    parameters: Arc<DefaultServerParameterProvider>,
    connections: Arc<ConnectionManager>,
    exchange: Mutex<Exchange>,
}

impl Login {
    pub fn new(
        passwords: Arc<dyn Passwords>,
        require_tls: bool,
        parameters: Arc<DefaultServerParameterProvider>,
        connections: Arc<ConnectionManager>,
    ) -> Self {
        Self {
            passwords,
            require_tls,
            parameters,
            connections,
            exchange: Mutex::new(Exchange::Started),
        }
    }
}

pub fn fatal(code: &str, message: String, hint: &str) -> PgWireError {
    crate::error::with_hint("FATAL", code, message, hint)
}

fn login_failed(user: &str) -> PgWireError {
    fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
        "use a darkroom account's name and password (`darkroom user list`); an account made before the \
         Postgres endpoint needs its password seen once: log in to the web app, or set it with \
         `darkroom user passwd NAME`",
    )
}

fn user_of<C: ClientInfo>(client: &C) -> String {
    client.metadata().get("user").cloned().unwrap_or_default()
}

#[async_trait]
impl StartupHandler for Login {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                pgwire::api::auth::protocol_negotiation(client, startup).await?;
                pgwire::api::auth::save_startup_parameters_to_metadata(client, startup);
                if self.require_tls && !client.is_secure() {
                    return Err(fatal(
                        "28000",
                        "this endpoint accepts only encrypted connections".to_owned(),
                        "connect with TLS: sslmode=require (psql, psycopg), ssl=true (JDBC)",
                    ));
                }
                if user_of(client).is_empty() {
                    return Err(fatal(
                        "28000",
                        "no user name was given".to_owned(),
                        "connect as a darkroom account: psql -U NAME",
                    ));
                }
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(vec![
                        SCRAM_SHA_256.to_owned(),
                    ])))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let user = user_of(client);
                let mut exchange = self.exchange.lock().await;
                match std::mem::replace(&mut *exchange, Exchange::Done) {
                    Exchange::Started => {
                        let initial = message.into_sasl_initial_response()?;
                        if initial.auth_method != SCRAM_SHA_256 {
                            return Err(PgWireError::UnsupportedSASLAuthMethod(initial.auth_method));
                        }
                        let verifier = match self.passwords.check(&user) {
                            Ok(PasswordCheck::Verifier(text)) => Verifier::parse(&text),
                            Ok(PasswordCheck::NoSuchUser | PasswordCheck::NotSet) => None,
                            Err(error) => {
                                tracing::error!(%error, user, "the accounts cannot be read");
                                return Err(fatal(
                                    "58000",
                                    "the accounts cannot be read".to_owned(),
                                    "the server's log says why; check the project's state.db",
                                ));
                            }
                        };
                        let data = initial.data.unwrap_or_default();
                        let (first, awaiting) =
                            scram::server_first(&data, verifier.unwrap_or_else(Verifier::unmatchable))
                                .map_err(|failure| scram_error(&user, &failure))?;
                        client
                            .send(PgWireBackendMessage::Authentication(Authentication::SASLContinue(
                                first.into_bytes().into(),
                            )))
                            .await?;
                        *exchange = Exchange::ServerFirstSent(Box::new(awaiting));
                    }
                    Exchange::ServerFirstSent(awaiting) => {
                        let response = message.into_sasl_response()?;
                        let last = awaiting
                            .server_final(&response.data)
                            .map_err(|failure| scram_error(&user, &failure))?;
                        client
                            .send(PgWireBackendMessage::Authentication(Authentication::SASLFinal(
                                last.into_bytes().into(),
                            )))
                            .await?;
                        let (pid, secret_key) = RandomPidSecretKeyGenerator::default().generate(client);
                        client.set_pid_and_secret_key(pid, secret_key.clone());
                        // So that a client's cancel request (psql's Ctrl-C) stops its query.
                        let (handle, guard) = self.connections.register(pid, secret_key);
                        client.session_extensions().insert(handle);
                        client.session_extensions().insert(guard);
                        tracing::info!(user, client = %client.socket_addr(), tls = client.is_secure(), "logged in");
                        finish_authentication(client, self.parameters.as_ref()).await?;
                    }
                    Exchange::Done => return Err(PgWireError::InvalidSASLState),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn scram_error(user: &str, failure: &ScramFailure) -> PgWireError {
    match failure {
        ScramFailure::WrongProof => {
            tracing::warn!(user, "failed login to the Postgres endpoint");
            login_failed(user)
        }
        ScramFailure::ChannelBinding => fatal(
            "28000",
            "SCRAM channel binding is not offered by this endpoint".to_owned(),
            "connect with channel_binding=disable (or prefer, libpq's default)",
        ),
        ScramFailure::Malformed(what) => fatal(
            "08P01",
            format!("malformed SCRAM message: {what}"),
            "the client's SCRAM-SHA-256 is not RFC 5802's; try psql or libpq",
        ),
    }
}
