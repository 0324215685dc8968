//! The Postgres-protocol endpoint: psql, notebooks and BI tools read the
//! warehouse as they would read Redshift (`darkroom serve`, `darkroom pgwire`).
//!
//! Built on datafusion-postgres (its parser, `pg_catalog`, encodings) with
//! what it leaves open closed here:
//! - logins are darkroom's accounts, by SCRAM-SHA-256 against a stored
//!   verifier ([`startup`], [`scram`]); TLS is checked before the start and
//!   can be required;
//! - every statement is planned and verified read-only, then run bounded in
//!   memory and time by the warehouse's [`QuerySession`] ([`answer`]);
//!   `SET datafusion.*`, which would change every connection, is refused;
//! - each statement reads the latest whole night ([`Sessions`]): a table
//!   provider is a frozen snapshot, so the session is taken again when a
//!   night has committed.

mod answer;
mod error;
pub mod scram;
mod server;
mod startup;

use std::sync::Arc;

use darkroom_warehouse::QuerySession;

pub use error::PgwireError;
pub use server::{DEFAULT_DATABASE, Endpoint};

/// An error from the embedding application (its accounts or its view of the project).
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Where the endpoint gets the session to answer from: the project's tables at
/// their latest whole night (the web app's view, in `darkroom serve`).
#[async_trait::async_trait]
pub trait Sessions: Send + Sync {
    async fn current(&self) -> Result<Arc<QuerySession>, SourceError>;
}

/// The accounts the endpoint logs users in with.
pub trait Passwords: Send + Sync {
    fn check(&self, user: &str) -> Result<PasswordCheck, SourceError>;
}

/// What a user's password can be checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    NoSuchUser,
    /// An account whose password the server has never seen since it learnt SCRAM.
    NotSet,
    /// A SCRAM-SHA-256 verifier in PostgreSQL's `pg_authid` format.
    Verifier(String),
}
