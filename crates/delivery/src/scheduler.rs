//! The schedules `darkroom serve` keeps: the nightly run for the day before,
//! the hourly refresh, and each subscription, by cron in UTC.
//!
//! Jobs run one at a time, in the order nightly run, refresh, subscriptions:
//! a subscription due while the night runs waits for it (here, or on another
//! server holding the project's run lock), then sends its numbers or says the
//! night failed. Each due time is claimed in the state database first (see
//! [`ScheduleBook`]), so no two servers send the same mail.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use darkroom_pipeline::{RunOptions, parse_day, run_in_progress, run_range};

use crate::alerts::alert_after_night;
use crate::config::Subscription;
use crate::deliver::{Deliverer, Recipients};
use crate::error::DeliveryError;
use crate::schedule::{Schedule, ScheduleBook};

/// Re-runs the dashboards' queries so the first reader after a night waits for nothing.
pub type RefreshHook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// How long a subscription waits for a run in progress before it says the night is not done.
const LONGEST_WAIT_FOR_RUN: Duration = Duration::from_secs(12 * 3600);
const RUN_POLL: Duration = Duration::from_secs(5);
/// The scheduler looks at the clock at least this often (the clock may jump).
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
enum JobKind {
    NightlyRun,
    Refresh,
    Subscription(Box<Subscription>),
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub schedule: Schedule,
    kind: JobKind,
}

pub struct Scheduler {
    deliverer: Deliverer,
    refresh: Option<RefreshHook>,
    jobs: Vec<Job>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    pub fn new(deliverer: Deliverer, refresh: Option<RefreshHook>) -> Self {
        let config = &deliverer.config;
        let mut jobs = Vec::new();
        if let Some(schedule) = &config.nightly_run {
            jobs.push(Job {
                name: "nightly_run".into(),
                schedule: schedule.clone(),
                kind: JobKind::NightlyRun,
            });
        }
        if let Some(schedule) = &config.refresh {
            jobs.push(Job {
                name: "refresh".into(),
                schedule: schedule.clone(),
                kind: JobKind::Refresh,
            });
        }
        for subscription in &config.subscriptions {
            jobs.push(Job {
                name: subscription.name.clone(),
                schedule: subscription.schedule.clone(),
                kind: JobKind::Subscription(Box::new(subscription.clone())),
            });
        }
        Self {
            deliverer,
            refresh,
            jobs,
        }
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Runs the schedules until the process ends: first what was missed while
    /// no server ran (once each), then each job at its time.
    pub async fn run(self) -> Result<(), DeliveryError> {
        if self.jobs.is_empty() {
            return Ok(());
        }
        let mut book = ScheduleBook::open(&self.deliverer.project.dir)?;
        book.keep_only(&self.jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>())?;
        let started = Utc::now();
        for job in &self.jobs {
            if let Some(due) = book.missed(&job.name, &job.schedule, started)? {
                tracing::info!(job = %job.name, due = %due, "catching up on a time missed while no server ran");
                self.fire(&mut book, job, due).await?;
            }
        }
        let mut next: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(self.jobs.len());
        for job in &self.jobs {
            let due = job.schedule.next_after(Utc::now());
            book.set_next(&job.name, &job.schedule, due)?;
            tracing::info!(job = %job.name, cron = %job.schedule.expression, next = ?due, "scheduled");
            next.push(due);
        }
        loop {
            for (job, due) in self.jobs.iter().zip(next.iter_mut()) {
                let Some(time) = *due else { continue };
                if time > Utc::now() {
                    continue;
                }
                self.fire(&mut book, job, time).await?;
                *due = job.schedule.next_after(Utc::now());
                book.set_next(&job.name, &job.schedule, *due)?;
            }
            let soonest = next.iter().flatten().min().copied();
            let wait = soonest
                .and_then(|t| (t - Utc::now()).to_std().ok())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), LONGEST_SLEEP);
            tokio::time::sleep(wait).await;
        }
    }

    /// Claims `due` and runs the job; its outcome goes to the schedule table.
    async fn fire(&self, book: &mut ScheduleBook, job: &Job, due: DateTime<Utc>) -> Result<(), DeliveryError> {
        if !book.claim(&job.name, &job.schedule, due)? {
            tracing::info!(job = %job.name, due = %due, "another server took this time");
            return Ok(());
        }
        match self.run_job(job, due).await {
            Ok(outcome) => {
                tracing::info!(job = %job.name, due = %due, outcome = %outcome, "done");
                book.finished(&job.name, None)
            }
            Err(error) => {
                tracing::error!(job = %job.name, due = %due, error = %error, hint = error.hint(), "failed");
                book.finished(&job.name, Some(&format!("{error} (hint: {})", error.hint())))
            }
        }
    }

    async fn run_job(&self, job: &Job, due: DateTime<Utc>) -> Result<String, DeliveryError> {
        let project = &self.deliverer.project;
        match &job.kind {
            JobKind::NightlyRun => {
                let day = night_before(due);
                let number = parse_day(&day.format("%Y-%m-%d").to_string())?;
                let ran = run_range(project, number, number, RunOptions { force: false }, |_| {}).await;
                // The alert reads the run's record, so a run that failed to start is told too.
                let alerted = alert_after_night(&self.deliverer, day).await;
                let reports = ran?;
                let failed: usize = reports.iter().map(|r| r.failed().len()).sum();
                let alerted = match alerted? {
                    Some(delivered) => format!("; alert {delivered}"),
                    None => String::new(),
                };
                Ok(format!("the night of {day}: {failed} task(s) failed{alerted}"))
            }
            JobKind::Refresh => match &self.refresh {
                Some(refresh) => refresh().await.map_err(|message| DeliveryError::Refresh { message }),
                None => Ok("nothing to refresh outside darkroom serve".into()),
            },
            JobKind::Subscription(subscription) => {
                self.wait_for_run(&job.name).await;
                let expected = match self.deliverer.config.nightly_run {
                    Some(_) => Some(night_before(due)),
                    None => self.deliverer.latest_run_day()?,
                };
                let recipients = Recipients {
                    to: subscription.to.clone(),
                    slack: subscription.slack,
                };
                let delivered = self
                    .deliverer
                    .deliver(&subscription.dashboard, &recipients, &subscription.attach, expected)
                    .await?;
                Ok(delivered.to_string())
            }
        }
    }

    async fn wait_for_run(&self, job: &str) {
        let dir = &self.deliverer.project.dir;
        let mut waited = Duration::ZERO;
        while run_in_progress(dir) && waited < LONGEST_WAIT_FOR_RUN {
            if waited.is_zero() {
                tracing::info!(job = %job, "waiting for the nightly run to finish");
            }
            tokio::time::sleep(RUN_POLL).await;
            waited += RUN_POLL;
        }
    }
}

/// The day before `time`'s date: the night a run at `time` is for.
pub fn night_before(time: DateTime<Utc>) -> NaiveDate {
    time.date_naive().pred_opt().unwrap_or(time.date_naive())
}
