use std::path::PathBuf;

use darkroom_pipeline::Project;
use darkroom_sim::{AdvanceOptions, AdvanceReport, Fault, Outputs, SimError};

use crate::progress::DayProgress;

#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Grow the synthetic photo site in project DIR by N days.
    Advance(AdvanceArgs),
}

#[derive(Debug, clap::Args)]
pub struct AdvanceArgs {
    /// The project folder.
    dir: PathBuf,
    /// Days to generate.
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// The world's random seed (first call only).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Registered users before the first day (first call only).
    #[arg(long, default_value_t = 2000)]
    users: u64,
    /// The first day, YYYY-MM-DD (first call only).
    #[arg(long, default_value = "2015-01-05")]
    start: String,
    /// Comma-separated faults: bad_lines=RATE, dead_server=SERVER@YYYY-MM-DDTHH,
    /// lossy_day=D, duplicate_upload=D, corrupt_gzip=D, missing_payment=D,
    /// lost_action=ACTION@D, new_action=NAME@D.
    #[arg(long, default_value = "")]
    faults: String,
}

pub fn run(command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::Advance(args) => {
            let mut progress = DayProgress::new(u64::from(args.days), "days generated");
            let report = advance_each_day(&args, |day| {
                progress.day_done(day, 0);
                std::ops::ControlFlow::Continue(())
            });
            progress.finish();
            let report = report?;
            crate::say(&format!(
                "generated {} to {}: {} files, {} lines, {:.1} MB of logs ({:.1} MB gzipped)",
                report.first_day,
                report.last_day,
                report.files,
                report.lines,
                report.bytes_uncompressed as f64 / 1e6,
                report.bytes_compressed as f64 / 1e6
            ));
            Ok(())
        }
    }
}

pub fn advance_each_day(
    args: &AdvanceArgs,
    after_day: impl FnMut(&str) -> std::ops::ControlFlow<()>,
) -> anyhow::Result<AdvanceReport> {
    let project = Project::load(&args.dir)?;
    let external = project.external();
    let outputs = Outputs {
        logs: project.logs_root().ok_or(SimError::NoLogsSource)?,
        production_url: project.production_url(),
        google_analytics: external.google_analytics,
        stripe: external.stripe,
        paypal: external.paypal,
        plan: external.plan,
    };
    let options = AdvanceOptions {
        days: args.days,
        seed: args.seed,
        users: args.users,
        start: args.start.clone(),
        faults: Fault::parse_list(&args.faults)?,
    };
    Ok(darkroom_sim::advance_each_day(
        &project.dir,
        &outputs,
        &options,
        after_day,
    )?)
}

impl AdvanceArgs {
    pub fn new(dir: PathBuf, days: u32) -> Self {
        Self {
            dir,
            days,
            seed: 1,
            users: 2000,
            start: "2015-01-05".into(),
            faults: String::new(),
        }
    }
}
