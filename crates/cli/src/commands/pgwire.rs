use std::path::PathBuf;
use std::sync::Arc;

use darkroom_pgwire::{Endpoint, PasswordCheck, Passwords, Sessions, SourceError};
use darkroom_pipeline::Project;
use darkroom_warehouse::QuerySession;
use darkroom_web::{AppState, PasswordState};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The address to listen on, HOST:PORT (default: [pgwire] listen, 127.0.0.1:5439).
    #[arg(long)]
    listen: Option<String>,
}

/// `darkroom pgwire`: the endpoint alone, until Ctrl-C.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let mut settings = project.config.pgwire.clone();
    if let Some(listen) = &args.listen {
        settings.listen.clone_from(listen);
    }
    let endpoint = Endpoint::bind(&settings, &project.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("darkroom-pgwire")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = AppState::open(project, tokio::runtime::Handle::current()).await?;
        say_listening(&endpoint);
        tokio::select! {
            served = endpoint.serve(Arc::new(AppSessions(app.clone())), Arc::new(AppPasswords(app))) => served?,
            _ = tokio::signal::ctrl_c() => {}
        }
        anyhow::Ok(())
    })?;
    runtime.shutdown_background();
    Ok(())
}

/// Binds the endpoint of `serve` before the app starts, so a bad `[pgwire]`
/// stops the start; `None` when `[pgwire] enabled = false`.
pub fn bind_for_serve(project: &Project) -> anyhow::Result<Option<Endpoint>> {
    let settings = &project.config.pgwire;
    if !settings.enabled {
        return Ok(None);
    }
    Ok(Some(Endpoint::bind(settings, &project.dir)?))
}

/// Serves a bound endpoint from the app's view and accounts, on a thread and
/// runtime of its own so BI tools' queries never slow the pages.
pub fn start_beside_app(endpoint: Endpoint, app: AppState) {
    say_listening(&endpoint);
    let spawned = std::thread::Builder::new()
        .name("darkroom-pgwire".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .thread_name("darkroom-pgwire")
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "the Postgres endpoint cannot start");
                    return;
                }
            };
            let served =
                runtime.block_on(endpoint.serve(Arc::new(AppSessions(app.clone())), Arc::new(AppPasswords(app))));
            if let Err(error) = served {
                tracing::error!(%error, hint = error.hint(), "the Postgres endpoint stopped");
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "the Postgres endpoint cannot start");
    }
}

fn say_listening(endpoint: &Endpoint) {
    let addr = endpoint.local_addr();
    let tls = if endpoint.tls() { "TLS" } else { "no TLS" };
    crate::say(&format!(
        "Postgres clients: psql \"host={} port={} dbname=darkroom user=NAME\"  ({tls}; darkroom's accounts)",
        addr.ip(),
        addr.port()
    ));
}

/// The app's view: the endpoint reads the same whole night as the pages.
struct AppSessions(AppState);

#[async_trait::async_trait]
impl Sessions for AppSessions {
    async fn current(&self) -> Result<Arc<QuerySession>, SourceError> {
        Ok(self.0.live.view().await?.session.clone())
    }
}

struct AppPasswords(AppState);

impl Passwords for AppPasswords {
    fn check(&self, user: &str) -> Result<PasswordCheck, SourceError> {
        Ok(match self.0.accounts.scram_verifier_of(user)? {
            PasswordState::NoSuchUser => PasswordCheck::NoSuchUser,
            PasswordState::NoVerifier => PasswordCheck::NotSet,
            PasswordState::Verifier(text) => PasswordCheck::Verifier(text),
        })
    }
}
