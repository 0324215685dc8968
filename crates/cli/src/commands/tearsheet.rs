use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use darkroom_metrics::parse_week;
use darkroom_pipeline::{open_query_session, project_tearsheet};

use crate::report::UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SheetFormat {
    Html,
    Csv,
    Xlsx,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The Monday after the last week shown (default: after the latest complete week of data).
    #[arg(long)]
    week: Option<String>,
    #[arg(long, value_enum, default_value = "html")]
    format: SheetFormat,
    /// Where to write it (default: stdout; for xlsx, tearsheet-<week>.xlsx here).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let end = args.week.as_deref().map(parse_week).transpose()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let sheet = runtime.block_on(async {
        let session = open_query_session(&project).await?;
        anyhow::Ok(project_tearsheet(&project, &session, end).await?)
    })?;
    let sheet = sheet.ok_or_else(|| UsageError {
        message: "the warehouse has no daily_metrics yet".into(),
        hint: "run the nightly run first: `darkroom run --date YYYY-MM-DD`",
    })?;
    match args.format {
        SheetFormat::Xlsx => {
            let path = args.out.clone().unwrap_or_else(|| {
                let last = sheet.weeks.last().map(ToString::to_string).unwrap_or_default();
                PathBuf::from(format!("tearsheet-{last}.xlsx"))
            });
            sheet.write_xlsx(&path)?;
            crate::say(&format!("wrote {}", path.display()));
        }
        SheetFormat::Html | SheetFormat::Csv => {
            let text = if args.format == SheetFormat::Html {
                sheet.to_html()
            } else {
                sheet.to_csv()
            };
            match &args.out {
                Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
        }
    }
    Ok(())
}

impl Args {
    /// The default tearsheet of `project` as HTML in `out`.
    pub fn html(project: PathBuf, out: PathBuf) -> Self {
        Self {
            project: Some(project),
            week: None,
            format: SheetFormat::Html,
            out: Some(out),
        }
    }
}
