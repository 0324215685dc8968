//! Schedules and delivery: the nightly run, the refresh and the subscriptions
//! of `darkroom.toml` on cron (UTC), the morning email with each chart as an
//! inline PNG, Slack posts, and the alerts of a failed night or audit.
//!
//! Used by `darkroom serve` (the scheduler), `darkroom send` and `darkroom run`
//! (alerts). It reads dashboards through `darkroom-dashboards` and draws them
//! through `darkroom-charts`, as the web app does, and never calls the app: a
//! share link for Slack's images comes in through [`ShareLinks`].

mod alerts;
mod config;
mod deliver;
mod email;
mod error;
mod report;
mod schedule;
mod scheduler;
mod slack;

pub use alerts::{ALERTED_DASHBOARDS, alert_after_night, alert_recipients, night_alert};
pub use config::{
    Attachment, DeliveryConfig, EmailSettings, MailTransport, Subscription, TEARSHEET, mailbox, redacted_url,
};
pub use deliver::{Delivered, Deliverer, Recipients, SLACK_SHARE_DAYS, ShareLinks};
pub use email::{Sent, report_html, report_message, report_text};
pub use error::DeliveryError;
pub use report::{Body, DrawnChart, FailedTask, NightProblem, Report, build_report, night_problem};
pub use schedule::{Schedule, ScheduleBook};
pub use scheduler::{Job, RefreshHook, Scheduler, night_before};
pub use slack::payload as slack_payload;
