//! `darkroom`: commands only. Each command parses its arguments, calls the
//! library crates, and prints; errors become one line and a hint on stderr.

mod commands;
#[cfg(test)]
mod errors_said;
mod output;
mod progress;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc, returning freed pages to the system within a second (`.cargo/config.toml`).
/// With glibc's allocator the nightly run's resident memory was two to three times
/// its live heap (heaptrack: 219 MB live at the peak of a 1 GB day, 500-650 MB
/// resident), and that excess grew with the day: freed pages stayed in per-thread
/// arenas. See README, "Nightly run, memory", for the figures.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "darkroom",
    version,
    about = "Raw logs and a production database, developed into numbers people trust"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a new project in DIR from the photo-site template.
    Init(commands::init::Args),
    /// The synthetic photo site.
    #[command(subcommand)]
    Sim(commands::sim::SimCommand),
    /// The nightly run for a day, or for each day of a range (a backfill).
    Run(commands::run::Args),
    /// A read-only query on the warehouse and the raw log archives (table `logs`).
    Sql(commands::sql::Args),
    /// The audits of a day or days: every check's findings, worst first.
    Audit(commands::audit::Args),
    /// The task graph, as text or Graphviz DOT.
    Dag(commands::dag::Args),
    /// The executive tearsheet: five ISO weeks of daily averages beside the plan.
    Tearsheet(commands::tearsheet::Args),
    /// The data dictionary: every table and column, as HTML and Markdown.
    Docs(commands::docs::Args),
    /// Generate a photo site in a fresh folder, run every night, then serve the app.
    Demo(commands::demo::Args),
    /// Serve the web app: dashboards, the tearsheet, audits, the SQL editor.
    Serve(commands::serve::Args),
    /// The Postgres-protocol endpoint alone (`serve` runs it too): psql, notebooks, BI tools.
    Pgwire(commands::pgwire::Args),
    /// The app's users: add, passwd, role, remove, list, token.
    User(commands::user::Args),
    /// Deliver one dashboard now by email and/or Slack, as a subscription would.
    Send(commands::send::Args),
}

/// Progress and results for the person at the terminal.
#[allow(clippy::print_stdout)]
pub(crate) fn say(text: &str) {
    println!("{text}");
}

/// Events go to the terminal as `DARKROOM_LOG` asks (`warn` by default), and
/// those inside a nightly task to that task's own log file as well.
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes are for a terminal; in a file or CI log they are noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(tracing_subscriber::EnvFilter::try_from_env("DARKROOM_LOG").unwrap_or_else(|_| "warn".into()));
    let task_logs = darkroom_pipeline::TaskLogLayer.with_filter(darkroom_pipeline::task_log_filter());
    tracing_subscriber::registry().with(terminal).with(task_logs).init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Init(args) => commands::init::run(&args),
        Command::Sim(command) => commands::sim::run(command),
        Command::Run(args) => commands::run::run(&args),
        Command::Sql(args) => commands::sql::run(&args),
        Command::Audit(args) => commands::audit::run(&args),
        Command::Dag(args) => commands::dag::run(&args),
        Command::Tearsheet(args) => commands::tearsheet::run(&args),
        Command::Docs(args) => commands::docs::run(&args),
        Command::Demo(args) => commands::demo::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Pgwire(args) => commands::pgwire::run(&args),
        Command::User(args) => commands::user::run(&args),
        Command::Send(args) => commands::send::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report::report(&error),
    }
}
