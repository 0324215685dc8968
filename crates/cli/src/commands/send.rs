use std::path::PathBuf;
use std::sync::Arc;

use darkroom_delivery::{Attachment, Deliverer, DeliveryConfig, Recipients, ShareLinks, mailbox};
use darkroom_pipeline::Project;

use crate::report::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (default: the current folder).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The dashboard to send (a file of dashboards/ without .toml), or `tearsheet`.
    #[arg(long)]
    dashboard: String,
    /// Send to this address (repeatable); without --to or --slack, to the
    /// dashboard's subscribers in darkroom.toml.
    #[arg(long = "to", value_name = "ADDRESS")]
    to: Vec<String>,
    /// Post to the Slack webhook of darkroom.toml.
    #[arg(long)]
    slack: bool,
    /// Attach every chart's rows: csv or xlsx (repeatable).
    #[arg(long, value_name = "KIND")]
    attach: Vec<String>,
}

impl Args {
    /// `darkroom send --project DIR --dashboard SLUG`: to the dashboard's subscribers.
    pub fn dashboard(dir: PathBuf, slug: &str) -> Self {
        Self {
            project: Some(dir),
            dashboard: slug.to_owned(),
            to: Vec::new(),
            slack: false,
            attach: Vec::new(),
        }
    }
}

/// Share links for Slack's chart images, made in the app's accounts as an
/// admin would make them.
#[derive(Debug)]
pub struct AccountShares(pub darkroom_web::Accounts);

impl ShareLinks for AccountShares {
    fn share(&self, dashboard: &str, days: u32) -> Result<String, String> {
        let by = darkroom_web::User {
            name: "delivery".into(),
            role: darkroom_web::Role::Admin,
        };
        let expires = chrono::Utc::now().timestamp() + i64::from(days) * 86_400;
        self.0
            .new_share(dashboard, &by, Some(expires))
            .map_err(|e| e.to_string())
    }
}

/// The delivery settings of `project` checked whole, and what delivers them;
/// `listen` is where the app is (the links' default address).
pub fn deliverer(project: &Project, listen: &str) -> anyhow::Result<Deliverer> {
    let slugs: Vec<String> = darkroom_dashboards::load_dir(&project.dir.join(darkroom_dashboards::DASHBOARDS_DIR))
        .into_iter()
        .filter_map(Result::ok)
        .map(|d| d.slug)
        .collect();
    let config = DeliveryConfig::load(&project.dir, &slugs, listen)?;
    let accounts = darkroom_web::Accounts::open(&project.dir.join(darkroom_pipeline::STATE_FILE))?;
    Ok(Deliverer {
        project: project.clone(),
        config,
        shares: Some(Arc::new(AccountShares(accounts))),
    })
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let project = super::load_project(args.project.as_ref())?;
    let deliverer = deliverer(&project, darkroom_web::DEFAULT_LISTEN)?;
    let mut attach = Vec::new();
    for kind in &args.attach {
        attach.push(match kind.as_str() {
            "csv" => Attachment::Csv,
            "xlsx" => Attachment::Xlsx,
            other => {
                return Err(UsageError {
                    message: format!("--attach {other}: not an attachment kind"),
                    hint: "use --attach csv or --attach xlsx",
                }
                .into());
            }
        });
    }
    let mut recipients = Recipients {
        to: Vec::new(),
        slack: args.slack,
    };
    for address in &args.to {
        recipients.to.push(mailbox(address).map_err(|message| UsageError {
            message: format!("--to {message}"),
            hint: "write an address as ann@example.com or \"Ann <ann@example.com>\"",
        })?);
    }
    if recipients.to.is_empty() && !recipients.slack {
        // As the subscriptions would: every subscriber of the dashboard.
        for subscription in deliverer
            .config
            .subscriptions
            .iter()
            .filter(|s| s.dashboard == args.dashboard)
        {
            recipients.to.extend(subscription.to.iter().cloned());
            recipients.slack |= subscription.slack;
            if attach.is_empty() {
                attach.clone_from(&subscription.attach);
            }
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let expected = deliverer.latest_run_day()?;
    let delivered = runtime.block_on(deliverer.deliver(&args.dashboard, &recipients, &attach, expected))?;
    crate::say(&format!("sent {delivered}"));
    if delivered.not_updated {
        crate::say("the numbers were not sent: the latest night failed, and the mail says so");
    }
    Ok(())
}
