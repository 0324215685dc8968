use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Days of the photo site to generate.
    #[arg(long, default_value_t = 56)]
    days: u32,
    /// Where to write the demo project (default: a new `darkroom-demo` folder here).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A fresh project with a generated photo site, and a first look at it.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(fresh_folder);
    super::init::write_project(&dir)?;
    crate::say(&format!("wrote a new project in {}", dir.display()));
    let report = super::sim::advance(&super::sim::AdvanceArgs::new(dir.clone(), args.days))?;
    crate::say(&format!(
        "generated a photo site from {} to {}: {} log files, {} lines, {:.1} MB; \
         its production database (production.db), GA and payment exports (external/), plan.csv, \
         and the true numbers (truth/)",
        report.first_day,
        report.last_day,
        report.files,
        report.lines,
        report.bytes_uncompressed as f64 / 1e6
    ));
    let query = "SELECT action, count(*) AS events, count(DISTINCT user_id) AS users FROM logs GROUP BY action ORDER BY events DESC";
    crate::say(&format!("\n$ darkroom sql --project {} \"{query}\"", dir.display()));
    super::sql::run(&super::sql::Args::new(dir.clone(), query))?;
    crate::say(&format!(
        "\nThe raw archives are queryable now: try\n  darkroom sql --project {} \"SELECT event_date, count(DISTINCT visitor_id) FROM logs GROUP BY 1 ORDER BY 1\"\nThe nightly run, the warehouse and the web app come next (see the README's status).",
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
