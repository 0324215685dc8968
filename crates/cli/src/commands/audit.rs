use std::path::PathBuf;

use darkroom_audit::{Status, audit_results_batch, audit_results_schema};
use darkroom_metrics::last_metric_day;
use darkroom_pipeline::{audit_days, open_query_session, parse_day};

use crate::output::{Format, write_batches};
use crate::report::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The days to audit (default: the last day with daily metrics).
    #[command(flatten)]
    days: super::Days,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Exit with code 1 when a finding is at least this bad.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Warn,
    Fail,
}

/// A `--fail-on` threshold that the findings met.
#[derive(Debug, thiserror::Error)]
#[error("{count} finding(s) at or above {level} (--fail-on {level})")]
pub struct FindingsFailed {
    count: usize,
    level: &'static str,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let days = match args.days.range()? {
        Some((first, last)) if first > last => {
            return Err(UsageError {
                message: "--from is after --to".into(),
                hint: "dates are UTC days, YYYY-MM-DD, --from before --to",
            }
            .into());
        }
        Some((first, last)) => (first..=last).collect(),
        None => {
            let last = runtime.block_on(async {
                let session = open_query_session(&project).await?;
                anyhow::Ok(last_metric_day(session.context()).await?)
            })?;
            let Some(last) = last else {
                return Err(UsageError {
                    message: "the warehouse has no daily metrics yet, so there is no day to audit".into(),
                    hint: "run the nightly run first (`darkroom run --date YYYY-MM-DD`), or pass --date",
                }
                .into());
            };
            vec![parse_day(&last.to_string())?]
        }
    };
    let findings = runtime.block_on(audit_days(&project, &days))?;
    let batch = audit_results_batch(&findings)?;
    let stdout = std::io::stdout();
    write_batches(&mut stdout.lock(), &audit_results_schema(), &[batch], args.format)?;
    let Some(fail_on) = args.fail_on else {
        return Ok(());
    };
    let (floor, level) = match fail_on {
        FailOn::Warn => (Status::Warn, "warn"),
        FailOn::Fail => (Status::Fail, "fail"),
    };
    let count = findings.iter().filter(|f| f.status >= floor).count();
    if count > 0 {
        return Err(FindingsFailed { count, level }.into());
    }
    Ok(())
}
