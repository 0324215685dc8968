use std::ops::ControlFlow;
use std::path::PathBuf;

use darkroom_pipeline::{Project, RunOptions, parse_day, run_range};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Days of the photo site to generate.
    #[arg(long, default_value_t = 56)]
    days: u32,
    /// Where to write the demo project (default: a new `darkroom-demo` folder here).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A fresh project with a generated photo site, run night by night as production would be.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(fresh_folder);
    super::init::write_project(&dir)?;
    crate::say(&format!("wrote a new project in {}", dir.display()));
    let project = Project::load(&dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut failure: Option<anyhow::Error> = None;
    let mut runs = 0;
    // Each night sees only the days before it: the subscriber snapshot must be taken
    // while production still shows the end of its day.
    let report = super::sim::advance_each_day(&super::sim::AdvanceArgs::new(dir.clone(), args.days), |day| {
        let ran = parse_day(day).map_err(anyhow::Error::from).and_then(|day| {
            runtime
                .block_on(run_range(&project, day, day, RunOptions { force: false }, |report| {
                    super::run::print_report(report, false);
                }))
                .map_err(anyhow::Error::from)
        });
        match ran {
            Ok(_) => {
                runs += 1;
                ControlFlow::Continue(())
            }
            Err(error) => {
                failure = Some(error);
                ControlFlow::Break(())
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    crate::say(&format!(
        "\ngenerated a photo site from {} to {} ({} log files, {:.1} MB of logs, a production database, \
         GA and payment exports, plan.csv and the true numbers in truth/) and ran {runs} nightly runs",
        report.first_day,
        report.last_day,
        report.files,
        report.bytes_uncompressed as f64 / 1e6,
    ));
    let query = "SELECT purchase_type, count(*) AS payments, sum(amount_cents) / 100.0 AS dollars \
                 FROM fact_subscription_purchases GROUP BY purchase_type ORDER BY payments DESC";
    crate::say(&format!("\n$ darkroom sql --project {} \"{query}\"", dir.display()));
    super::sql::run(&super::sql::Args::new(dir.clone(), query))?;
    crate::say(&format!(
        "\nThe warehouse is in {}/warehouse (Delta tables). Try\n  darkroom sql --project {} \"SELECT event_date, count(*) FROM fact_page_views GROUP BY 1 ORDER BY 1\"\n  darkroom dag --project {}\nThe metrics, the tearsheet and the web app come next (see the README's status).",
        dir.display(),
        dir.display(),
        dir.display()
    ));
    Ok(())
}

/// `darkroom-demo`, or `darkroom-demo-2`, ... : never an existing folder.
fn fresh_folder() -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            "darkroom-demo".to_owned()
        } else {
            format!("darkroom-demo-{n}")
        };
        let path = PathBuf::from(name);
        if !path.exists() {
            return path;
        }
        n += 1;
    }
}
