use std::path::PathBuf;

/// Everything delivery can fail at. No message shows a password or a webhook's
/// secret path: URLs are shown through [`crate::redacted_url`].
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} line {line}: {}{message}", file.display(), if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Config {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("the state database {}: {source}", path.display())]
    State { path: PathBuf, source: rusqlite::Error },
    #[error("there is no tearsheet to send: no night has been run")]
    NoTearsheet,
    #[error("dashboard {slug:?} does not exist")]
    NoSuchDashboard { slug: String },
    #[error("dashboard {dashboard:?}, chart {chart:?}: {message}")]
    Chart {
        dashboard: String,
        chart: String,
        message: String,
    },
    #[error("the mail could not be built: {message}")]
    Compose { message: String },
    #[error("the SMTP server {server} did not take the mail: {message}")]
    Smtp { server: String, message: String },
    #[error("cannot write the mail to {}: {source}", path.display())]
    Outbox { path: PathBuf, source: std::io::Error },
    #[error("the Slack webhook {url} did not take the post: {message}")]
    Slack { url: String, message: String },
    #[error("no share link for {dashboard:?} could be made for Slack's image: {message}")]
    Share { dashboard: String, message: String },
    #[error("{dashboard:?} has nothing to send to: give --to ADDRESS or --slack, or a subscription's `to`")]
    NoRecipients { dashboard: String },
    #[error("the dashboards' refresh failed: {message}")]
    Refresh { message: String },
    #[error(transparent)]
    Pipeline(#[from] darkroom_pipeline::PipelineError),
    #[error(transparent)]
    Dashboard(#[from] darkroom_dashboards::DashboardError),
}

impl DeliveryError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Read { .. } => "check that the project folder holds darkroom.toml and can be read",
            Self::Config { .. } => {
                "fix that key in darkroom.toml (the delivery sections are described in docs/guide.md under \
                 \"Schedules and delivery\")"
            }
            Self::State { .. } => "check that state.db in the project folder can be written",
            Self::NoTearsheet => "run a night first: darkroom run --date YYYY-MM-DD",
            Self::NoSuchDashboard { .. } => "name a file of dashboards/ without .toml, or tearsheet",
            Self::Chart { .. } => {
                "open the dashboard in the app to see that chart's error, fix its SQL in dashboards/, and send again"
            }
            Self::Compose { .. } => "check the addresses in darkroom.toml",
            Self::Smtp { .. } => {
                "check [email] smtp_url (host, port, user and password), that the server is up, and ca_file if \
                 it uses a certificate of your company's own; it is retried with backoff first"
            }
            Self::Outbox { .. } => "check that [email] outbox is a folder darkroom can write",
            Self::Slack { .. } => "check [slack] webhook_url in darkroom.toml and that the webhook is enabled",
            Self::Share { .. } => "check that state.db in the project folder can be written",
            Self::NoRecipients { .. } => "darkroom send --dashboard SLUG --to you@example.com",
            Self::Refresh { .. } => "open a dashboard in the app to see its error; the next refresh tries again",
            Self::Pipeline(e) => e.hint(),
            Self::Dashboard(e) => e.hint(),
        }
    }
}
