use std::path::PathBuf;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DagFormat {
    Text,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: DagFormat,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let dag = darkroom_pipeline::project_dag(&project)?;
    let text = match args.format {
        DagFormat::Text => dag.render_text(),
        DagFormat::Dot => dag.render_dot(),
    };
    crate::say(text.trim_end());
    Ok(())
}
