use std::path::PathBuf;

use anyhow::Context as _;
use darkroom_pipeline::{open_query_session, project_dictionary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The folder to write index.html and dictionary.md into (default: docs/ in the project).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let out = args.out.clone().unwrap_or_else(|| project.dir.join("docs"));
    let runtime = tokio::runtime::Runtime::new()?;
    let dictionary = runtime.block_on(async {
        let session = open_query_session(&project).await?;
        anyhow::Ok(project_dictionary(&project, &session).await?)
    })?;
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let html = out.join("index.html");
    let markdown = out.join("dictionary.md");
    std::fs::write(&html, dictionary.to_html()).with_context(|| format!("cannot write {}", html.display()))?;
    std::fs::write(&markdown, dictionary.to_markdown())
        .with_context(|| format!("cannot write {}", markdown.display()))?;
    let missing = dictionary.undescribed();
    if !missing.is_empty() {
        tracing::warn!(count = missing.len(), columns = %missing.join(", "), "no description in dictionary.toml");
    }
    crate::say(&format!(
        "wrote {} and {}: {} tables{}",
        html.display(),
        markdown.display(),
        dictionary.tables.len(),
        if missing.is_empty() {
            String::new()
        } else {
            format!(", {} without a description (listed above)", missing.len())
        }
    ));
    Ok(())
}

impl Args {
    pub fn new(project: PathBuf) -> Self {
        Self {
            project: Some(project),
            out: None,
        }
    }
}
