//! The photo site's SQL models, tested through data: every `*.slt` file here
//! runs in a fresh DataFusion session. A line `{{model NAME}}` stands for the
//! SQL of `templates/photosite/models/NAME.sql`, so the files test the models
//! users get, not copies of them.

use std::path::{Path, PathBuf};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

struct DataFusionDb {
    ctx: SessionContext,
}

#[async_trait::async_trait]
impl AsyncDB for DataFusionDb {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let frame = self.ctx.sql(sql).await?;
        let is_query = {
            let first = sql
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("--"))
                .unwrap_or_default()
                .to_ascii_uppercase();
            first.starts_with("SELECT") || first.starts_with("WITH")
        };
        let columns = frame.schema().fields().len();
        let batches = frame.collect().await?;
        if !is_query {
            return Ok(DBOutput::StatementComplete(0));
        }
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                rows.push(formatters.iter().map(|f| f.value(row).to_string()).collect());
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; columns],
            rows,
        })
    }

    async fn shutdown(&mut self) {}
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/photosite/models")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt/fixtures")
}

/// Replaces each `{{model NAME}}` line with that model's SQL, and each
/// `{{fixture NAME}}` line with `fixtures/NAME.sql` (data several files share),
/// blank lines removed (a blank line ends a record in sqllogictest).
fn expand_models(script: &str) -> String {
    let inline = |path: PathBuf| {
        let sql = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        sql.lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    script
        .lines()
        .map(|line| {
            let line_trimmed = line.trim();
            if let Some(name) = line_trimmed.strip_prefix("{{model ").and_then(|l| l.strip_suffix("}}")) {
                inline(models_dir().join(format!("{name}.sql")))
            } else if let Some(name) = line_trimmed
                .strip_prefix("{{fixture ")
                .and_then(|l| l.strip_suffix("}}"))
            {
                inline(fixtures_dir().join(format!("{name}.sql")))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every model of the template has a file of its own name here.
fn every_model_has_a_test(dir: &Path) -> Result<(), libtest_mimic::Failed> {
    let mut untested = Vec::new();
    for entry in std::fs::read_dir(models_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql")
            && let Some(name) = path.file_stem()
            && !dir.join(format!("{}.slt", name.to_string_lossy())).exists()
        {
            untested.push(name.to_string_lossy().into_owned());
        }
    }
    if untested.is_empty() {
        Ok(())
    } else {
        Err(format!("models without a tests/slt/NAME.slt: {}", untested.join(", ")).into())
    }
}

/// One trial per `.slt` file, through libtest-mimic so `cargo nextest` lists and filters them.
fn main() -> std::process::ExitCode {
    let arguments = libtest_mimic::Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    let mut trials: Vec<libtest_mimic::Trial> = files
        .into_iter()
        .map(|file| {
            let name = file
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            libtest_mimic::Trial::test(name, move || run_file(&file))
        })
        .collect();
    trials.push(libtest_mimic::Trial::test("every_model_has_a_test", move || {
        every_model_has_a_test(&dir)
    }));
    libtest_mimic::run(&arguments, trials).exit_code()
}

fn run_file(file: &Path) -> Result<(), libtest_mimic::Failed> {
    let script = expand_models(&std::fs::read_to_string(file)?);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    runtime.block_on(async {
        let mut runner = Runner::new(|| async {
            Ok(DataFusionDb {
                ctx: SessionContext::new(),
            })
        });
        runner
            .run_script_with_name_async(&script, name)
            .await
            .map_err(|e| libtest_mimic::Failed::from(e.to_string()))
    })
}
