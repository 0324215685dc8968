use std::path::{Path, PathBuf};

use anyhow::Context;
use darkroom_pipeline::PROJECT_FILE;

use crate::report::UsageError;

/// The photo-site template, built into the binary so `init` works anywhere.
const TEMPLATE: &[(&str, &str)] = &[
    (
        PROJECT_FILE,
        include_str!("../../../../templates/photosite/darkroom.toml"),
    ),
    (
        "metrics.toml",
        include_str!("../../../../templates/photosite/metrics.toml"),
    ),
    (
        "dictionary.toml",
        include_str!("../../../../templates/photosite/dictionary.toml"),
    ),
    ("plan.csv", include_str!("../../../../templates/photosite/plan.csv")),
    (
        "audits.toml",
        include_str!("../../../../templates/photosite/audits.toml"),
    ),
    (
        "dashboards/audit.toml",
        include_str!("../../../../templates/photosite/dashboards/audit.toml"),
    ),
    (
        "dashboards/executive.toml",
        include_str!("../../../../templates/photosite/dashboards/executive.toml"),
    ),
    (
        "dashboards/funnels.toml",
        include_str!("../../../../templates/photosite/dashboards/funnels.toml"),
    ),
    (
        "dashboards/marketing.toml",
        include_str!("../../../../templates/photosite/dashboards/marketing.toml"),
    ),
    (
        "dashboards/mobile.toml",
        include_str!("../../../../templates/photosite/dashboards/mobile.toml"),
    ),
    (
        "dashboards/pipeline.toml",
        include_str!("../../../../templates/photosite/dashboards/pipeline.toml"),
    ),
    (
        "dashboards/product.toml",
        include_str!("../../../../templates/photosite/dashboards/product.toml"),
    ),
    (
        "dashboards/sales.toml",
        include_str!("../../../../templates/photosite/dashboards/sales.toml"),
    ),
    (
        "dashboards/web.toml",
        include_str!("../../../../templates/photosite/dashboards/web.toml"),
    ),
    (
        "models/dim_date.sql",
        include_str!("../../../../templates/photosite/models/dim_date.sql"),
    ),
    (
        "models/dim_photos.sql",
        include_str!("../../../../templates/photosite/models/dim_photos.sql"),
    ),
    (
        "models/dim_users.sql",
        include_str!("../../../../templates/photosite/models/dim_users.sql"),
    ),
    (
        "models/fact_comments.sql",
        include_str!("../../../../templates/photosite/models/fact_comments.sql"),
    ),
    (
        "models/fact_favourites.sql",
        include_str!("../../../../templates/photosite/models/fact_favourites.sql"),
    ),
    (
        "models/fact_follows.sql",
        include_str!("../../../../templates/photosite/models/fact_follows.sql"),
    ),
    (
        "models/fact_likes.sql",
        include_str!("../../../../templates/photosite/models/fact_likes.sql"),
    ),
    (
        "models/fact_logins.sql",
        include_str!("../../../../templates/photosite/models/fact_logins.sql"),
    ),
    (
        "models/fact_marketplace_submissions.sql",
        include_str!("../../../../templates/photosite/models/fact_marketplace_submissions.sql"),
    ),
    (
        "models/fact_page_views.sql",
        include_str!("../../../../templates/photosite/models/fact_page_views.sql"),
    ),
    (
        "models/fact_photo_views.sql",
        include_str!("../../../../templates/photosite/models/fact_photo_views.sql"),
    ),
    (
        "models/fact_signups.sql",
        include_str!("../../../../templates/photosite/models/fact_signups.sql"),
    ),
    (
        "models/fact_stock_purchases.sql",
        include_str!("../../../../templates/photosite/models/fact_stock_purchases.sql"),
    ),
    (
        "models/fact_subscription_purchases.sql",
        include_str!("../../../../templates/photosite/models/fact_subscription_purchases.sql"),
    ),
    (
        "models/funnel_steps.sql",
        include_str!("../../../../templates/photosite/models/funnel_steps.sql"),
    ),
    (
        "models/fact_uploads.sql",
        include_str!("../../../../templates/photosite/models/fact_uploads.sql"),
    ),
    (
        "models/user_apps.sql",
        include_str!("../../../../templates/photosite/models/user_apps.sql"),
    ),
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to create (it may exist if it is empty).
    dir: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    write_project(&args.dir)?;
    crate::say(&format!("wrote a new project in {}", args.dir.display()));
    Ok(())
}

pub fn write_project(dir: &Path) -> anyhow::Result<()> {
    if dir.join(PROJECT_FILE).exists() {
        return Err(UsageError {
            message: format!("{} is already a darkroom project", dir.display()),
            hint: "pick another folder, or use the project that is there",
        }
        .into());
    }
    if dir.is_dir() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(UsageError {
            message: format!("{} is not empty", dir.display()),
            hint: "init writes into a new or empty folder so it overwrites nothing",
        }
        .into());
    }
    for (name, text) in TEMPLATE {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a model added to the template but not to this list left new
    /// projects with a dim_users that read a table no task produced.
    #[test]
    fn every_template_file_is_written_by_init() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/photosite");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("template folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("below the root");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = TEMPLATE.iter().map(|(name, _)| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }
}
