use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use darkroom_metrics::{CATALOG_FILE, Catalog, DICTIONARY_FILE, Descriptions, Dictionary};
use darkroom_pipeline::{TaskKind, open_query_session, project_dag};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The folder to write index.html and dictionary.md into (default: docs/ in the project).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Tables of the session that are not warehouse tables: the raw archives (reading them all is a full scan).
const LEFT_OUT: [&str; 1] = ["logs"];

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let out = args.out.clone().unwrap_or_else(|| project.dir.join("docs"));
    let words_path = project.dir.join(DICTIONARY_FILE);
    let words = if words_path.exists() {
        Descriptions::load(&words_path)?
    } else {
        Descriptions::default()
    };
    let dag = project_dag(&project)?;
    let model_descriptions: BTreeMap<String, String> = dag
        .tasks
        .iter()
        .filter_map(|t| match &t.kind {
            TaskKind::Model(model) => model.description.clone().map(|d| (model.name.clone(), d)),
            _ => None,
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new()?;
    let dictionary = runtime.block_on(async {
        let session = open_query_session(&project).await?;
        let ctx = session.context();
        let (catalog_name, schema_name) = {
            let state = ctx.state();
            let options = &state.config().options().catalog;
            (options.default_catalog.clone(), options.default_schema.clone())
        };
        let mut tables: Vec<String> = ctx
            .catalog(&catalog_name)
            .and_then(|c| c.schema(&schema_name))
            .map(|s| s.table_names())
            .unwrap_or_default();
        tables.retain(|t| !LEFT_OUT.contains(&t.as_str()));
        tables.sort();
        let catalog_path = project.dir.join(CATALOG_FILE);
        let catalog = if catalog_path.exists() {
            Some(Catalog::load(&catalog_path, &ctx.state())?)
        } else {
            None
        };
        anyhow::Ok(Dictionary::build(ctx, &tables, &words, &model_descriptions, catalog.as_ref()).await?)
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
