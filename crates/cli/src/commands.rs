pub mod audit;
pub mod dag;
pub mod demo;
pub mod docs;
pub mod init;
pub mod pgwire;
pub mod run;
pub mod send;
pub mod serve;
pub mod sim;
pub mod sql;
pub mod tearsheet;
pub mod user;

use std::path::PathBuf;

use darkroom_pipeline::parse_day;

use darkroom_pipeline::Project;

/// `--project DIR`, defaulting to the current folder.
pub fn load_project(dir: Option<&PathBuf>) -> anyhow::Result<Project> {
    let dir = dir.cloned().unwrap_or_else(|| PathBuf::from("."));
    Ok(Project::load(&dir)?)
}

/// A day, `--date D`, or the days of a range, `--from D1 --to D2`.
#[derive(Debug, clap::Args)]
pub struct Days {
    /// The UTC day, YYYY-MM-DD.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    date: Option<String>,
    /// First day of a range, YYYY-MM-DD (with --to).
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Last day of a range, YYYY-MM-DD (with --from).
    #[arg(long, requires = "from")]
    to: Option<String>,
}

impl Days {
    /// The first and last day asked for (days since 1970-01-01), if any.
    pub fn range(&self) -> anyhow::Result<Option<(i32, i32)>> {
        Ok(match (&self.date, &self.from, &self.to) {
            (Some(date), None, None) => Some((parse_day(date)?, parse_day(date)?)),
            (None, Some(from), Some(to)) => Some((parse_day(from)?, parse_day(to)?)),
            _ => None,
        })
    }
}
