use std::path::PathBuf;
use std::sync::Arc;

use darkroom_delivery::{Deliverer, RefreshHook, Scheduler};
use darkroom_web::{AppState, DEFAULT_LISTEN};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The address to listen on, HOST:PORT.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: String,
    /// Where the Postgres endpoint listens, HOST:PORT (default: [pgwire] listen, 127.0.0.1:5439).
    #[arg(long)]
    pgwire_listen: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut project = super::load_project(args.project.as_ref())?;
    if let Some(listen) = &args.pgwire_listen {
        project.config.pgwire.listen.clone_from(listen);
    }
    serve(project, &args.listen, None)
}

/// Serves `project` until Ctrl-C and keeps its schedules; `login` is printed
/// with the URL (the demo's). A bad delivery setting stops the start.
pub fn serve(project: darkroom_pipeline::Project, listen: &str, login: Option<(&str, &str)>) -> anyhow::Result<()> {
    let mut deliverer = super::send::deliverer(&project, listen)?;
    let defaulted_url = deliverer.config.public_url == format!("http://{listen}");
    let endpoint = super::pgwire::bind_for_serve(&project)?;
    darkroom_web::serve(project, listen, |addr, app| {
        crate::say(&format!("\ndarkroom is serving on http://{addr}/  (Ctrl-C stops it)"));
        if let Some((user, password)) = login {
            crate::say(&format!("log in as {user} with the password {password}"));
        }
        if defaulted_url {
            deliverer.config.public_url = format!("http://{addr}");
        }
        start_schedules(deliverer, app.clone());
        if let Some(endpoint) = endpoint {
            super::pgwire::start_beside_app(endpoint, app.clone());
        }
    })?;
    Ok(())
}

/// The scheduler on a thread and runtime of its own, so a nightly run never
/// slows the pages.
fn start_schedules(deliverer: Deliverer, app: AppState) {
    let refresh: RefreshHook = Arc::new(move || {
        let app = app.clone();
        Box::pin(async move {
            app.refresh_dashboards()
                .await
                .map(|charts| format!("{charts} charts answered"))
                .map_err(|e| e.to_string())
        })
    });
    let scheduler = Scheduler::new(deliverer, Some(refresh));
    if scheduler.jobs().is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("darkroom-schedules".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("darkroom-schedules")
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "the schedules cannot start");
                    return;
                }
            };
            if let Err(error) = runtime.block_on(scheduler.run()) {
                tracing::error!(%error, hint = error.hint(), "the schedules stopped");
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "the schedules cannot start");
    }
}
