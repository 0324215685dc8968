use std::path::PathBuf;

use darkroom_pipeline::open_query_session;

use crate::output::{Format, write_batches};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// One read-only statement: SELECT, WITH, EXPLAIN, SHOW.
    query: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let spinner = crate::progress::Spinner::new("running the query");
    let answered = runtime.block_on(async {
        let session = open_query_session(&project).await?;
        anyhow::Ok(session.query_with_schema(&args.query).await?)
    });
    // A query stopped at a limit may still hold a worker in a long computation;
    // dropping the runtime would wait for it, so the error would wait too.
    runtime.shutdown_background();
    drop(spinner);
    let (schema, batches) = answered?;
    let stdout = std::io::stdout();
    write_batches(&mut stdout.lock(), &schema, &batches, args.format)
}

impl Args {
    pub fn new(project: PathBuf, query: &str) -> Self {
        Self {
            project: Some(project),
            format: Format::Table,
            query: query.to_owned(),
        }
    }
}
