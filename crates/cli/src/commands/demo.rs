use std::ops::ControlFlow;
use std::path::PathBuf;

use darkroom_pipeline::{Project, RunOptions, parse_day, run_range};

use crate::progress::DayProgress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Days of the photo site to generate.
    #[arg(long, default_value_t = 56)]
    days: u32,
    /// Where to write the demo project (default: a new `darkroom-demo` folder here).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The address the app is served on at the end.
    #[arg(long, default_value = darkroom_web::DEFAULT_LISTEN)]
    listen: String,
    /// Stop after the runs instead of serving the app.
    #[arg(long)]
    no_serve: bool,
}

/// The demo's login, printed with its URL: a demo project is on this machine only.
const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "darkroom-demo";

/// A fresh project with a generated photo site, run night by night as production would be.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(fresh_folder);
    super::init::write_project(&dir)?;
    crate::say(&format!("wrote a new project in {}", dir.display()));
    let project = Project::load(&dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut failure: Option<anyhow::Error> = None;
    let mut runs = 0;
    let mut progress = DayProgress::new(u64::from(args.days), "days generated and run");
    // Each night sees only the days before it: the subscriber snapshot must be taken
    // while production still shows the end of its day.
    let report = super::sim::advance_each_day(&super::sim::AdvanceArgs::new(dir.clone(), args.days), |day| {
        let ran = parse_day(day).map_err(anyhow::Error::from).and_then(|day| {
            runtime
                .block_on(run_range(&project, day, day, RunOptions { force: false }, |report| {
                    super::run::print_report(report, false, &progress);
                    progress.day_done(&report.day, report.tasks.iter().map(|t| t.rows_written).sum());
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
    });
    progress.finish();
    let report = report?;
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
    let tearsheet = dir.join("tearsheet.html");
    let wrote_sheet = super::tearsheet::run(&super::tearsheet::Args::html(dir.clone(), tearsheet.clone()));
    super::docs::run(&super::docs::Args::new(dir.clone()))?;
    // This morning's email, as the template's subscription sends it (to the outbox).
    crate::say(&format!(
        "\n$ darkroom send --project {} --dashboard executive",
        dir.display()
    ));
    super::send::run(&super::send::Args::dashboard(dir.clone(), "executive"))?;
    let sheet_line = match wrote_sheet {
        Ok(()) => format!("  the executive tearsheet:  {}\n", tearsheet.display()),
        // A demo shorter than a complete week has no tearsheet; it says why and goes on.
        Err(error) => format!("  no tearsheet: {error}\n"),
    };
    crate::say(&format!(
        "\nThe warehouse is in {0}/warehouse (Delta tables).\n{sheet_line}  the data dictionary:      {0}/docs/index.html\nTry\n  \
         darkroom sql --project {0} \"SELECT date, value FROM daily_metrics WHERE metric = 'dau' ORDER BY date\"\n  \
         darkroom sql --project {0} \"SELECT * FROM funnel_steps WHERE client = 'all' AND channel = 'all' ORDER BY 1, 2, 5\"\n  \
         darkroom tearsheet --project {0} --format xlsx --out tearsheet.xlsx\n  \
         darkroom dag --project {0}",
        dir.display()
    ));
    let accounts = darkroom_web::Accounts::open(&dir.join(darkroom_pipeline::STATE_FILE))?;
    accounts.add_user(DEMO_USER, darkroom_web::Role::Admin, DEMO_PASSWORD)?;
    if args.no_serve {
        crate::say(&format!(
            "\nServe the app with: darkroom serve --project {}  (log in as {DEMO_USER} / {DEMO_PASSWORD})",
            dir.display()
        ));
        return Ok(());
    }
    super::serve::serve(project, &args.listen, Some((DEMO_USER, DEMO_PASSWORD)))
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
