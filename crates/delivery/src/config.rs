//! `[schedule]`, `[email]`, `[slack]`, `[web]` and `[[subscriptions]]` of
//! `darkroom.toml`, checked whole at start: a bad cron expression, an unknown
//! dashboard or a malformed address is an error naming its key and line, so no
//! subscription is skipped in silence later.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;

use crate::error::DeliveryError;
use crate::schedule::Schedule;

/// What a subscription may attach besides the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    Csv,
    Xlsx,
}

/// The dashboard a subscription delivers that is not a dashboard file.
pub const TEARSHEET: &str = "tearsheet";

#[derive(Debug, Clone)]
pub struct Subscription {
    /// `subscriptions[N]` (from 1) and the dashboard: how logs and the schedule table name it.
    pub name: String,
    pub dashboard: String,
    pub to: Vec<Mailbox>,
    pub slack: bool,
    pub schedule: Schedule,
    pub attach: Vec<Attachment>,
}

/// How mail leaves: through an SMTP server, or as `.eml` files in a folder.
#[derive(Debug, Clone)]
pub enum MailTransport {
    Smtp {
        /// The URL as written; it may hold a password, so it is never shown (see [`redacted_url`]).
        url: String,
        /// A CA certificate (PEM) to trust besides the system's, for a company's own mail server.
        ca_file: Option<PathBuf>,
    },
    Outbox(PathBuf),
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub transport: MailTransport,
    pub from: Mailbox,
    pub timeout: Duration,
    /// Tries after the first, each after twice the wait of the one before.
    pub retries: u32,
    pub first_retry: Duration,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub file: PathBuf,
    pub nightly_run: Option<Schedule>,
    pub refresh: Option<Schedule>,
    pub email: EmailSettings,
    /// The Slack incoming webhook; never shown (its path is the secret).
    pub slack_webhook: Option<String>,
    /// Where people reach the app, for the links in mail and Slack.
    pub public_url: String,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Default, Deserialize)]
struct FileToml {
    #[serde(default)]
    schedule: Option<Spanned<ScheduleToml>>,
    #[serde(default)]
    email: Option<Spanned<EmailToml>>,
    #[serde(default)]
    slack: Option<Spanned<SlackToml>>,
    #[serde(default)]
    web: Option<Spanned<WebToml>>,
    #[serde(default)]
    subscriptions: Vec<Spanned<toml::Table>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleToml {
    nightly_run: Option<Spanned<String>>,
    refresh: Option<Spanned<String>>,
}

fn default_from() -> Spanned<String> {
    Spanned::new(0..0, "darkroom@localhost".to_owned())
}
fn default_outbox() -> String {
    "outbox".to_owned()
}
const fn default_timeout_seconds() -> u64 {
    30
}
const fn default_retries() -> u32 {
    3
}
const fn default_retry_seconds() -> u64 {
    30
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailToml {
    smtp_url: Option<Spanned<String>>,
    #[serde(default = "default_from")]
    from: Spanned<String>,
    #[serde(default = "default_outbox")]
    outbox: String,
    ca_file: Option<String>,
    #[serde(default = "default_timeout_seconds")]
    timeout_seconds: u64,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_retry_seconds")]
    first_retry_seconds: u64,
}

impl Default for EmailToml {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: default_from(),
            outbox: default_outbox(),
            ca_file: None,
            timeout_seconds: default_timeout_seconds(),
            retries: default_retries(),
            first_retry_seconds: default_retry_seconds(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackToml {
    webhook_url: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebToml {
    public_url: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionToml {
    dashboard: String,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    slack: bool,
    cron: String,
    #[serde(default)]
    attach: Vec<String>,
}

/// The file's 1-based line at byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| before.matches('\n').count() + 1)
}

impl DeliveryConfig {
    /// Reads the delivery sections of `project_dir/darkroom.toml`; `dashboards`
    /// are the slugs a subscription may name (besides `tearsheet`), and
    /// `listen` where `darkroom serve` listens (the links' default address).
    pub fn load(project_dir: &Path, dashboards: &[String], listen: &str) -> Result<Self, DeliveryError> {
        let file = project_dir.join("darkroom.toml");
        let text = std::fs::read_to_string(&file).map_err(|source| DeliveryError::Read {
            path: file.clone(),
            source,
        })?;
        Self::parse(&file, &text, project_dir, dashboards, listen)
    }

    pub fn parse(
        file: &Path,
        text: &str,
        project_dir: &Path,
        dashboards: &[String],
        listen: &str,
    ) -> Result<Self, DeliveryError> {
        let at = |offset: usize| line_of(text, offset);
        let bad = |key: &str, offset: usize, message: String| DeliveryError::Config {
            file: file.to_path_buf(),
            line: at(offset),
            key: key.to_owned(),
            message,
        };
        let parsed: FileToml = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            bad("", offset, e.message().split_whitespace().collect::<Vec<_>>().join(" "))
        })?;
        let schedule_section = parsed.schedule.map(Spanned::into_inner).unwrap_or_default();
        let schedule = |key: &str, value: Option<Spanned<String>>| -> Result<Option<Schedule>, DeliveryError> {
            value
                .map(|v| Schedule::parse(key, v.get_ref()).map_err(|message| bad(key, v.span().start, message)))
                .transpose()
        };
        let nightly_run = schedule("schedule.nightly_run", schedule_section.nightly_run)?;
        let refresh = schedule("schedule.refresh", schedule_section.refresh)?;

        let email = parsed.email.map(Spanned::into_inner).unwrap_or_default();
        let from = mailbox(email.from.get_ref()).map_err(|m| bad("email.from", email.from.span().start, m))?;
        let transport = match email.smtp_url {
            Some(url) => {
                check_smtp_url(url.get_ref()).map_err(|m| bad("email.smtp_url", url.span().start, m))?;
                MailTransport::Smtp {
                    url: url.into_inner(),
                    ca_file: email.ca_file.map(|f| project_dir.join(f)),
                }
            }
            None => MailTransport::Outbox(project_dir.join(&email.outbox)),
        };
        let email = EmailSettings {
            transport,
            from,
            timeout: Duration::from_secs(email.timeout_seconds.max(1)),
            retries: email.retries,
            first_retry: Duration::from_secs(email.first_retry_seconds),
        };

        let slack_webhook = match parsed.slack.map(Spanned::into_inner) {
            Some(slack) => {
                let url = slack.webhook_url;
                match url::Url::parse(url.get_ref()) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Some(url.into_inner()),
                    _ => {
                        return Err(bad(
                            "slack.webhook_url",
                            url.span().start,
                            "is not an http(s) URL".into(),
                        ));
                    }
                }
            }
            None => None,
        };
        let public_url = match parsed.web.map(Spanned::into_inner) {
            Some(web) => {
                let url = web.public_url;
                url::Url::parse(url.get_ref())
                    .map_err(|e| bad("web.public_url", url.span().start, format!("is not a URL: {e}")))?;
                url.into_inner().trim_end_matches('/').to_owned()
            }
            None => format!("http://{listen}"),
        };

        let mut subscriptions = Vec::new();
        for (index, table) in parsed.subscriptions.into_iter().enumerate() {
            let key = format!("subscriptions[{}]", index + 1);
            let start = table.span().start;
            let raw = table.into_inner();
            let sub: SubscriptionToml = toml::Value::Table(raw)
                .try_into()
                .map_err(|e: toml::de::Error| bad(&key, start, e.message().to_owned()))?;
            let dashboard = sub.dashboard.clone();
            if dashboard != TEARSHEET && !dashboards.contains(&dashboard) {
                return Err(bad(
                    &format!("{key}.dashboard"),
                    start,
                    format!(
                        "names the dashboard {dashboard:?}, which does not exist (there are: {}, and tearsheet)",
                        dashboards.join(", ")
                    ),
                ));
            }
            let to = sub
                .to
                .iter()
                .map(|address| mailbox(address).map_err(|m| bad(&format!("{key}.to"), start, m)))
                .collect::<Result<Vec<_>, _>>()?;
            if to.is_empty() && !sub.slack {
                return Err(bad(
                    &key,
                    start,
                    "has neither `to` addresses nor `slack = true`: it would deliver to no one".into(),
                ));
            }
            if sub.slack && slack_webhook.is_none() {
                return Err(bad(
                    &format!("{key}.slack"),
                    start,
                    "asks for Slack, but there is no [slack] webhook_url".into(),
                ));
            }
            let schedule = Schedule::parse(&format!("{key}.cron"), &sub.cron)
                .map_err(|m| bad(&format!("{key}.cron"), start, m))?;
            let attach = sub
                .attach
                .iter()
                .map(|a| match a.as_str() {
                    "csv" => Ok(Attachment::Csv),
                    "xlsx" => Ok(Attachment::Xlsx),
                    other => Err(bad(
                        &format!("{key}.attach"),
                        start,
                        format!("{other:?} is not an attachment kind: use \"csv\" or \"xlsx\""),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            subscriptions.push(Subscription {
                name: format!("{key} {dashboard}"),
                dashboard,
                to,
                slack: sub.slack,
                schedule,
                attach,
            });
        }
        Ok(Self {
            file: file.to_path_buf(),
            nightly_run,
            refresh,
            email,
            slack_webhook,
            public_url,
            subscriptions,
        })
    }
}

/// An address as people write it (`Ann <ann@example.com>` or `ann@example.com`).
pub fn mailbox(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|e| format!("{text:?} is not an email address ({e})"))
}

fn check_smtp_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "smtp" | "smtps" => {}
        other => {
            return Err(format!(
                "has the scheme {other}:// but must be smtp:// (STARTTLS when offered) or smtps:// (TLS from the start)"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

/// A URL with its password (and a webhook's secret path) left out, for messages and logs.
pub fn redacted_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => {
            let user = if url.username().is_empty() {
                String::new()
            } else {
                format!("{}@", url.username())
            };
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = if url.scheme().starts_with("http") && url.path().len() > 1 {
                "/…"
            } else {
                ""
            };
            format!("{}://{user}{}{port}{path}", url.scheme(), url.host_str().unwrap_or(""))
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DeliveryConfig, DeliveryError> {
        DeliveryConfig::parse(
            Path::new("site/darkroom.toml"),
            text,
            Path::new("site"),
            &["executive".to_owned(), "pipeline".to_owned()],
            "127.0.0.1:8080",
        )
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("a bad config").to_string()
    }

    #[test]
    fn a_project_without_delivery_sections_writes_mail_to_the_outbox() {
        let config = parse("[warehouse]\npath = \"warehouse\"\n").expect("parses");
        assert!(config.nightly_run.is_none() && config.subscriptions.is_empty());
        assert!(matches!(&config.email.transport, MailTransport::Outbox(p) if p == Path::new("site/outbox")));
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn each_bad_value_is_named_with_its_key_and_line() {
        assert_eq!(
            error("[schedule]\nnightly_run = \"61 0 * * *\"\n"),
            "site/darkroom.toml line 2: schedule.nightly_run: \"61 0 * * *\" is not a cron schedule \
             (minute hour day-of-month month day-of-week, UTC): Component error: Number out of bounds."
        );
        let sub = "[[subscriptions]]\ndashboard = \"finance\"\nto = [\"a@example.com\"]\ncron = \"0 7 * * *\"\n";
        assert_eq!(
            error(sub),
            "site/darkroom.toml line 1: subscriptions[1].dashboard: names the dashboard \"finance\", which does \
             not exist (there are: executive, pipeline, and tearsheet)"
        );
        let sub = "\n[[subscriptions]]\ndashboard = \"executive\"\nto = [\"not an address\"]\ncron = \"0 7 * * *\"\n";
        assert!(
            error(sub).starts_with(
                "site/darkroom.toml line 2: subscriptions[1].to: \"not an address\" is not an email address"
            ),
            "{}",
            error(sub)
        );
        let sub = "[[subscriptions]]\ndashboard = \"executive\"\ncron = \"0 7 * * *\"\n";
        assert!(error(sub).contains("it would deliver to no one"));
        assert_eq!(
            error("[email]\nsmtp_url = \"http://mail.example.com\"\n"),
            "site/darkroom.toml line 2: email.smtp_url: has the scheme http:// but must be smtp:// (STARTTLS \
             when offered) or smtps:// (TLS from the start)"
        );
        assert!(error("[email]\nsmpt_url = \"smtp://x\"\n").contains("line 2: unknown field `smpt_url`"));
    }

    #[test]
    fn secrets_in_urls_are_left_out_of_what_is_shown() {
        assert_eq!(
            redacted_url("smtp://ann:s3cret@mail.example.com:587"),
            "smtp://ann@mail.example.com:587"
        );
        assert_eq!(
            redacted_url("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com/…"
        );
    }
}
