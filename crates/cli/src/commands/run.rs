use std::path::PathBuf;

use darkroom_pipeline::{RunOptions, RunReport, TaskState, run_range};

use crate::progress::DayProgress;
use crate::report::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The day to run, or each day of a backfill.
    #[command(flatten)]
    days: super::Days,
    /// Rebuild even when the day is complete (subscriber snapshots are never rewritten).
    #[arg(long)]
    force: bool,
    /// Print every task, not only the day's summary.
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let Some((first, last)) = args.days.range()? else {
        return Err(UsageError {
            message: "darkroom run needs a day".into(),
            hint: "pass --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD for a backfill",
        }
        .into());
    };
    let verbose = args.verbose;
    let runtime = tokio::runtime::Runtime::new()?;
    let days = u64::try_from(i64::from(last) - i64::from(first) + 1).unwrap_or(0);
    let mut progress = DayProgress::new(days, "nights run");
    let mut reports = Vec::new();
    let ran = runtime.block_on(run_range(
        &project,
        first,
        last,
        RunOptions { force: args.force },
        |report| {
            print_report(report, verbose, &progress);
            progress.day_done(&report.day, report.tasks.iter().map(|t| t.rows_written).sum());
            reports.push(report.clone());
        },
    ));
    progress.finish();
    // A failed night is what alerts are for: sent before its error ends the command.
    runtime.block_on(send_alerts(&project, &reports));
    ran?;
    Ok(())
}

/// Tells the Pipeline and Audit subscribers of each night that failed or
/// whose audits failed. The run's outcome stands whatever happens here: a
/// delivery problem is said, not made the run's failure.
async fn send_alerts(project: &darkroom_pipeline::Project, reports: &[RunReport]) {
    let deliverer = match super::send::deliverer(project, darkroom_web::DEFAULT_LISTEN) {
        Ok(deliverer) => deliverer,
        Err(error) => {
            tracing::warn!(error = %error, "no alerts: the delivery settings do not load");
            return;
        }
    };
    let recipients = darkroom_delivery::alert_recipients(&deliverer);
    if recipients.to.is_empty() && !recipients.slack {
        return;
    }
    for report in reports {
        let Ok(day) = chrono::NaiveDate::parse_from_str(&report.day, "%Y-%m-%d") else {
            continue;
        };
        match darkroom_delivery::alert_after_night(&deliverer, day).await {
            Ok(Some(delivered)) => crate::say(&format!("alert: {delivered}")),
            Ok(None) => {}
            Err(error) => crate::say(&format!("alert for {day} not sent: {error} (hint: {})", error.hint())),
        }
    }
}

pub fn print_report(report: &RunReport, verbose: bool, progress: &DayProgress) {
    let count = |state: TaskState| report.tasks.iter().filter(|t| t.state == state).count();
    let rows: u64 = report.tasks.iter().map(|t| t.rows_written).sum();
    let failed = count(TaskState::Failed);
    progress.println(&format!(
        "{}: run {} {} in {:.1} s: {} tasks ran, {} were complete already, {} failed, {} not run; {rows} rows written",
        report.day,
        report.run_id,
        if failed == 0 { "succeeded" } else { "FAILED" },
        report.seconds,
        count(TaskState::Succeeded),
        count(TaskState::Skipped),
        failed,
        count(TaskState::UpstreamFailed),
    ));
    for task in &report.tasks {
        let interesting = task.state == TaskState::Failed || task.note.as_deref().is_some_and(|n| n != "complete");
        if !(verbose || interesting) {
            continue;
        }
        let mut line = format!(
            "  {:<32} {:<15} {:>7.2} s {:>10} rows",
            task.task,
            task.state.as_str(),
            task.seconds,
            task.rows_written
        );
        if let Some(error) = &task.error {
            line.push_str(&format!("  {error}"));
        } else if let Some(note) = task.note.as_deref().filter(|n| *n != "complete") {
            line.push_str(&format!("  ({note})"));
        }
        progress.println(&line);
    }
}
