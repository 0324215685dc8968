//! One delivery: a dashboard (or the tearsheet) drawn now and sent by email
//! and Slack, or, when its night failed, the notice that says so.

use std::sync::Arc;

use chrono::NaiveDate;
use darkroom_pipeline::{Project, StateDb};
use lettre::message::Mailbox;

use crate::config::{Attachment, DeliveryConfig};
use crate::email::{Sent, report_message, send};
use crate::error::DeliveryError;
use crate::report::{Body, NightProblem, Report, build_report, night_problem};

/// Makes share links for Slack's images; the app owns shares, so the binary
/// that runs both hands this in (delivery never calls the web app).
pub trait ShareLinks: Send + Sync + std::fmt::Debug {
    /// A new share token for `dashboard`, valid for `days`.
    fn share(&self, dashboard: &str, days: u32) -> Result<String, String>;
}

/// How long a share link made for a Slack post keeps its images up.
pub const SLACK_SHARE_DAYS: u32 = 30;

/// Who gets it.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub to: Vec<Mailbox>,
    pub slack: bool,
}

/// What was sent where.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub subject: String,
    /// Charts drawn (0 for a notice or the tearsheet).
    pub charts: usize,
    pub email: Option<Sent>,
    pub slack: bool,
    pub not_updated: bool,
}

impl std::fmt::Display for Delivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.subject)?;
        if self.charts > 0 {
            write!(f, " ({} charts)", self.charts)?;
        }
        if let Some(sent) = &self.email {
            write!(f, " emailed {sent}")?;
        }
        if self.slack {
            write!(f, "{} posted to Slack", if self.email.is_some() { " and" } else { "" })?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Deliverer {
    pub project: Project,
    pub config: DeliveryConfig,
    pub shares: Option<Arc<dyn ShareLinks>>,
}

impl Deliverer {
    /// The day whose night the numbers should include: the day of the latest
    /// run, the one a person sending now expects to see.
    pub fn latest_run_day(&self) -> Result<Option<NaiveDate>, DeliveryError> {
        let runs = StateDb::open(&self.project.dir)?.runs()?;
        Ok(runs
            .iter()
            .max_by_key(|r| r.run_id)
            .and_then(|r| NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()))
    }

    /// Sends `slug` to `recipients`. When the night of `expected_day` did not
    /// succeed, the mail says so (with the failed task) instead of showing numbers.
    pub async fn deliver(
        &self,
        slug: &str,
        recipients: &Recipients,
        attach: &[Attachment],
        expected_day: Option<NaiveDate>,
    ) -> Result<Delivered, DeliveryError> {
        if recipients.to.is_empty() && !recipients.slack {
            return Err(DeliveryError::NoRecipients { dashboard: slug.into() });
        }
        let problem = match expected_day {
            Some(day) => night_problem(&self.project, day)?,
            None => None,
        };
        let report = match problem {
            Some(problem) => self.notice(slug, problem).await?,
            None => build_report(&self.project, slug, attach, &self.config.public_url).await?,
        };
        self.send_report(&report, recipients).await
    }

    /// The report that says the numbers were not updated.
    async fn notice(&self, slug: &str, problem: NightProblem) -> Result<Report, DeliveryError> {
        let title = if slug == crate::config::TEARSHEET {
            "The tearsheet".to_owned()
        } else {
            darkroom_dashboards::load_dir(&self.project.dir.join(darkroom_dashboards::DASHBOARDS_DIR))
                .into_iter()
                .filter_map(Result::ok)
                .find(|d| d.slug == slug)
                .map_or_else(|| slug.to_owned(), |d| d.title)
        };
        Ok(Report {
            slug: slug.into(),
            title,
            description: None,
            day: None,
            link: format!("{}/d/pipeline", self.config.public_url),
            body: Body::NotUpdated(problem),
        })
    }

    pub async fn send_report(&self, report: &Report, recipients: &Recipients) -> Result<Delivered, DeliveryError> {
        let email = if recipients.to.is_empty() {
            None
        } else {
            let message = report_message(report, &self.config.email.from, &recipients.to)?;
            Some(send(&self.config.email, &message, &report.slug).await?)
        };
        if recipients.slack {
            let webhook = self
                .config
                .slack_webhook
                .as_deref()
                .ok_or_else(|| DeliveryError::Config {
                    file: self.config.file.clone(),
                    line: 1,
                    key: "slack.webhook_url".into(),
                    message: "is not set, so nothing can be posted to Slack".into(),
                })?;
            let share_url = match (&report.body, &self.shares) {
                (Body::Charts(charts), Some(shares)) if !charts.is_empty() => {
                    let token =
                        shares
                            .share(&report.slug, SLACK_SHARE_DAYS)
                            .map_err(|message| DeliveryError::Share {
                                dashboard: report.slug.clone(),
                                message,
                            })?;
                    Some(format!("{}/s/{token}", self.config.public_url))
                }
                _ => None,
            };
            let payload = crate::slack::payload(report, share_url.as_deref());
            crate::slack::post(
                webhook,
                &payload,
                self.config.email.retries,
                self.config.email.first_retry,
            )
            .await?;
        }
        Ok(Delivered {
            subject: report.subject(),
            charts: match &report.body {
                Body::Charts(charts) => charts.len(),
                _ => 0,
            },
            email,
            slack: recipients.slack,
            not_updated: matches!(report.body, Body::NotUpdated(_)),
        })
    }
}
