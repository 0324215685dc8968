//! Answering statements: datafusion-postgres's session service, taken afresh
//! for each new night, with a hook in front that lets only reads through and
//! runs them within the warehouse's bounds.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use darkroom_warehouse::{QuerySession, WarehouseError, verify_read_only};
use datafusion::common::ParamValues;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::{DfSessionService, Parser, QueryHook};
use futures::Sink;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{Response, Tag};
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Parse, ParseComplete};
use pgwire::types::format::FormatOptions;

use crate::server::DEFAULT_DATABASE;
use crate::{PgwireError, Sessions};

/// The statement as datafusion-postgres's parser keeps it in a portal.
type Planned = (String, Option<(Statement, LogicalPlan)>);

/// The formats a portal asked its columns in, for the hook that answers it.
#[derive(Debug, Clone)]
struct ResultFormat(Format);

/// The service for one night: its session (a copy of the app's, with
/// `pg_catalog` added and a memory pool of its own) and datafusion-postgres's
/// service over it.
struct Night {
    source: Arc<QuerySession>,
    service: Arc<DfSessionService>,
}

pub struct Answering {
    sessions: Arc<dyn Sessions>,
    night: RwLock<Arc<Night>>,
    taking: tokio::sync::Mutex<()>,
}

impl Answering {
    pub async fn new(sessions: Arc<dyn Sessions>) -> Result<Self, PgwireError> {
        let source = sessions
            .current()
            .await
            .map_err(|e| PgwireError::Session { message: e.to_string() })?;
        let night = take_night(source)
            .await
            .map_err(|e| PgwireError::Session { message: e.to_string() })?;
        Ok(Self {
            sessions,
            night: RwLock::new(Arc::new(night)),
            taking: tokio::sync::Mutex::new(()),
        })
    }

    fn night(&self) -> Arc<Night> {
        self.night.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The service over the latest whole night, taken again if a night has committed since.
    async fn current(&self) -> PgWireResult<Arc<DfSessionService>> {
        let source = self.sessions.current().await.map_err(|e| {
            user_error(
                "58000",
                format!("the warehouse cannot be read: {e}"),
                "the server's log says why",
            )
        })?;
        let night = self.night();
        if Arc::ptr_eq(&night.source, &source) {
            return Ok(night.service.clone());
        }
        let _one_at_a_time = self.taking.lock().await;
        let night = self.night();
        if Arc::ptr_eq(&night.source, &source) {
            return Ok(night.service.clone());
        }
        let night = Arc::new(take_night(source).await.map_err(warehouse_error)?);
        *self.night.write().unwrap_or_else(PoisonError::into_inner) = night.clone();
        tracing::info!("Postgres endpoint: a new night's tables");
        Ok(night.service.clone())
    }
}

async fn take_night(source: Arc<QuerySession>) -> Result<Night, WarehouseError> {
    let copy = Arc::new(source.fresh_copy().await?);
    let context = Arc::new(copy.context().clone());
    setup_pg_catalog(&context, DEFAULT_DATABASE, EmptyContextProvider).map_err(|e| WarehouseError::Register {
        table: "pg_catalog".to_owned(),
        message: e.to_string(),
    })?;
    context.register_udf(postgres_version());
    context.register_udf(no_extension_types());
    let hooks: Vec<Arc<dyn QueryHook>> = vec![
        Arc::new(ReadOnly { session: copy }),
        Arc::new(CursorStatementHook),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
    ];
    Ok(Night {
        source,
        service: Arc::new(DfSessionService::new_with_hooks(context, hooks)),
    })
}

/// `version()` as PostgreSQL words it: SQLAlchemy's dialect (and other
/// clients) read the server's version from it at connect and refuse
/// DataFusion's own "Apache DataFusion 55.2.0", as Redshift's says "PostgreSQL 8.0.2".
fn postgres_version() -> datafusion::logical_expr::ScalarUDF {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    use datafusion::scalar::ScalarValue;
    let text = format!(
        "PostgreSQL 16.6 on darkroom {} (Apache DataFusion, read-only)",
        env!("CARGO_PKG_VERSION")
    );
    create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(text.clone()))))),
    )
}

/// `to_regtype(name)`, which SQLAlchemy's dialect asks at connect about the
/// types of extensions (`hstore`): none are installed, so it is always NULL.
fn no_extension_types() -> datafusion::logical_expr::ScalarUDF {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    use datafusion::scalar::ScalarValue;
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))),
    )
}

#[async_trait]
impl SimpleQueryHandler for Answering {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let service = self.current().await?;
        SimpleQueryHandler::do_query(service.as_ref(), client, query)
            .await
            .map_err(syntax_error)
    }
}

#[async_trait]
impl ExtendedQueryHandler for Answering {
    type Statement = Planned;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.night().service.query_parser()
    }

    /// As pgwire's own, but planned against the latest night (a prepared
    /// statement keeps the night it was planned in).
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use futures::SinkExt;
        let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_owned());
        let parser = self.current().await?.query_parser();
        match StoredStatement::parse(client, &message, parser)
            .await
            .map_err(syntax_error)?
        {
            Some(statement) => client.portal_store().put_statement(Arc::new(statement)),
            None => client.portal_store().put_empty_statement(&name),
        }
        client
            .send(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Planned>, max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // The hook sees the statement and plan, not the portal: it finds the
        // column formats the client asked for here.
        client
            .session_extensions()
            .insert(ResultFormat(portal.result_column_format.clone()));
        let service = self.night().service.clone();
        ExtendedQueryHandler::do_query(service.as_ref(), client, portal, max_rows).await
    }
}

/// First of the hooks: session statements (SET, SHOW, transactions, cursors)
/// go on to datafusion-postgres's own hooks; every other statement is planned,
/// verified read-only and run here, within the warehouse's bounds.
struct ReadOnly {
    session: Arc<QuerySession>,
}

enum Kind {
    /// Answered by datafusion-postgres's session hooks, per connection.
    Session,
    /// Nothing to do on a read-only endpoint, but clients send it (SQLAlchemy
    /// with psycopg wraps statements in savepoints): acknowledged with its tag.
    Acknowledged(&'static str),
    Refused(PgWireError),
    Query,
}

fn kind(statement: &Statement) -> Kind {
    match statement {
        Statement::Set(_) => {
            // datafusion-postgres hands a SET it does not know to DataFusion,
            // which would change the session every connection shares.
            if statement.to_string().to_lowercase().contains("datafusion.") {
                Kind::Refused(user_error(
                    "25006",
                    "SET datafusion.* is refused: it would change the settings of every connection".to_owned(),
                    "the endpoint's engine settings are fixed; statement_timeout, search_path, TimeZone and the \
                     client's formatting settings can be set per connection",
                ))
            } else {
                Kind::Session
            }
        }
        Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. } => Kind::Session,
        Statement::Savepoint { .. } => Kind::Acknowledged("SAVEPOINT"),
        Statement::ReleaseSavepoint { .. } => Kind::Acknowledged("RELEASE"),
        Statement::Discard { .. } => Kind::Acknowledged("DISCARD ALL"),
        // Planned, then verified read-only: a PREPARE of a write, or a
        // SELECT ... INTO, is refused by its plan.
        Statement::Query(_)
        | Statement::Explain { .. }
        | Statement::ExplainTable { .. }
        | Statement::Prepare { .. }
        | Statement::Execute { .. }
        | Statement::Deallocate { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowViews { .. } => Kind::Query,
        // Whatever else the parser knows (DDL, DML, COPY, ALTER, GRANT,
        // RESET, ...) is refused by its kind, before the engine sees it.
        other => Kind::Refused(user_error(
            "25006",
            format!(
                "only reads are allowed here, and this statement would change something: {}",
                first_words(other)
            ),
            "the endpoint only reads: tables change in models/*.sql and the nightly run",
        )),
    }
}

/// The statement's first words, to name it in a refusal without echoing a whole script.
fn first_words(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    words.join(" ")
}

impl ReadOnly {
    async fn plan(&self, statement: &Statement, context: &SessionContext) -> PgWireResult<LogicalPlan> {
        let plan = context
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(statement.clone())))
            .await
            .map_err(|e| warehouse_error(WarehouseError::Sql { message: e.to_string() }))?;
        verify_read_only(&plan).map_err(warehouse_error)?;
        Ok(plan)
    }

    /// Runs a verified plan within the session's bounds (and the client's
    /// `statement_timeout`, when shorter) and encodes the answer.
    async fn answer(
        &self,
        plan: LogicalPlan,
        context: &SessionContext,
        client: &dyn HookClient,
        format: &Format,
    ) -> PgWireResult<Response> {
        let running = self.session.run_plan(plan);
        let outcome = match client_timeout(client) {
            Some(limit) if limit < self.session.limits().timeout => tokio::time::timeout(limit, running)
                .await
                .unwrap_or(Err(WarehouseError::Timeout { limit })),
            _ => running.await,
        };
        let (schema, batches) = outcome.map_err(warehouse_error)?;
        let table = MemTable::try_new(schema, vec![batches]).map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let frame = context
            .read_table(Arc::new(table))
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
        Ok(Response::Query(encode_dataframe(frame, format, Some(options)).await?))
    }
}

#[async_trait]
impl QueryHook for ReadOnly {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match kind(statement) {
            Kind::Session => None,
            Kind::Acknowledged(tag) => Some(Ok(Response::Execution(Tag::new(tag)))),
            Kind::Refused(error) => Some(Err(error)),
            Kind::Query => Some(
                async {
                    let plan = self.plan(statement, context).await?;
                    self.answer(plan, context, client, &Format::UnifiedText).await
                }
                .await
                .inspect_err(log_refusal),
            ),
        }
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match kind(statement) {
            Kind::Session => None,
            Kind::Acknowledged(_) => Some(Ok(LogicalPlan::EmptyRelation(
                datafusion::logical_expr::EmptyRelation {
                    produce_one_row: false,
                    schema: Arc::new(datafusion::common::DFSchema::empty()),
                },
            ))),
            Kind::Refused(error) => Some(Err(error)),
            Kind::Query => Some(self.plan(statement, context).await.inspect_err(log_refusal)),
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        plan: &LogicalPlan,
        params: &ParamValues,
        context: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match kind(statement) {
            Kind::Session => None,
            Kind::Acknowledged(tag) => Some(Ok(Response::Execution(Tag::new(tag)))),
            Kind::Refused(error) => Some(Err(error)),
            Kind::Query => {
                let format = client
                    .session_extensions()
                    .get::<ResultFormat>()
                    .map_or(Format::UnifiedText, |f| f.0.clone());
                let bound = match plan.clone().replace_params_with_values(params) {
                    Ok(bound) => bound,
                    Err(e) => return Some(Err(warehouse_error(WarehouseError::Sql { message: e.to_string() }))),
                };
                Some(
                    self.answer(bound, context, client, &format)
                        .await
                        .inspect_err(log_refusal),
                )
            }
        }
    }
}

fn log_refusal(error: &PgWireError) {
    if let PgWireError::UserError(info) = error {
        tracing::info!(code = %info.code, message = %info.message, "Postgres endpoint: statement refused");
    }
}

/// The client's `SET statement_timeout`, as datafusion-postgres keeps it.
fn client_timeout(client: &dyn HookClient) -> Option<Duration> {
    client
        .metadata()
        .get("statement_timeout_ms")
        .and_then(|ms| ms.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// datafusion-postgres reports a statement its parser or planner refuses as
/// an internal error (XX000); to a client it is the SQL's (42601).
fn syntax_error(error: PgWireError) -> PgWireError {
    match error {
        PgWireError::ApiError(cause) => user_error(
            "42601",
            cause.to_string(),
            "the SQL is DataFusion's dialect, close to PostgreSQL's",
        ),
        other => other,
    }
}

pub fn user_error(code: &str, message: String, hint: &str) -> PgWireError {
    crate::error::with_hint("ERROR", code, message, hint)
}

/// A warehouse error as the Postgres error a client expects, SQLSTATE included.
fn warehouse_error(error: WarehouseError) -> PgWireError {
    let (code, hint) = match &error {
        WarehouseError::NotReadOnly { .. } => (
            "25006",
            "the endpoint only reads: tables change in models/*.sql and the nightly run",
        ),
        WarehouseError::Timeout { .. } => (
            "57014",
            "narrow the query (fewer days, fewer columns), or raise [query] timeout_seconds in darkroom.toml",
        ),
        WarehouseError::MemoryLimit { .. } => (
            "53200",
            "aggregate in SQL rather than fetching raw rows, or raise [query] memory_limit_mb in darkroom.toml",
        ),
        WarehouseError::Sql { message } if message.contains("not found") && message.contains("able") => (
            "42P01",
            "\\dt lists the tables; the data dictionary (darkroom docs) says what each holds",
        ),
        WarehouseError::Sql { message } if message.contains("No field named") || message.contains("Schema error") => {
            ("42703", "\\d TABLE lists a table's columns")
        }
        WarehouseError::Sql { .. } => ("42601", "the SQL is DataFusion's dialect, close to PostgreSQL's"),
        WarehouseError::Archive { .. } | WarehouseError::Io { .. } => ("58030", "the server's log says which file"),
        _ => ("XX000", "the server's log says more"),
    };
    user_error(code, error.to_string(), hint)
}
