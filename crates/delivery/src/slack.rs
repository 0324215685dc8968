//! A report as a Slack incoming-webhook post: the title, the headline
//! numbers, a link, and each chart's image. Webhooks cannot upload files, so
//! an image is a PNG the app serves under a share link made for the post.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::redacted_url;
use crate::error::DeliveryError;
use crate::report::{Body, Report};

/// Slack shows at most 50 blocks in a message.
const MAX_BLOCKS: usize = 50;

/// The webhook's JSON. `share_url` is the share link's base
/// (`PUBLIC_URL/s/TOKEN`), under which the chart images are served.
pub fn payload(report: &Report, share_url: Option<&str>) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": report.subject()}
    })];
    match &report.body {
        Body::Charts(charts) => {
            let headlines: Vec<String> = charts
                .iter()
                .filter_map(|c| Some(format!("*{}*: {}", c.title, c.headline.as_ref()?)))
                .collect();
            if !headlines.is_empty() {
                blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": headlines.join("\n")}}));
            }
            if let Some(share_url) = share_url {
                for chart in charts {
                    blocks.push(json!({
                        "type": "image",
                        "title": {"type": "plain_text", "text": chart.title},
                        "image_url": format!("{share_url}/charts/{}.png", chart.id),
                        "alt_text": format!("{}{}", chart.title, chart.headline.as_ref().map(|h| format!(": {h}")).unwrap_or_default()),
                    }));
                }
            }
        }
        Body::Tearsheet { .. } => {
            blocks.push(
                json!({"type": "section", "text": {"type": "mrkdwn", "text": "This week's tearsheet is ready."}}),
            );
        }
        Body::NotUpdated(problem) | Body::Alert(problem) => {
            let stale = if matches!(report.body, Body::NotUpdated(_)) {
                "*These numbers were not updated.* "
            } else {
                ""
            };
            let mut text = format!(":warning: {stale}{}", problem.summary);
            for task in &problem.failed {
                text.push_str(&format!("\n• `{}`: {}", task.task, task.error));
            }
            text.push_str(&format!("\nOnce the cause is fixed: `{}`", problem.rerun));
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
        }
    }
    blocks.truncate(MAX_BLOCKS - 1);
    blocks.push(json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("<{}|Open {} in darkroom>", report.link, report.title)}
    }));
    json!({
        "text": format!("{}: {}", report.subject(), report.link),
        "blocks": blocks,
    })
}

/// Posts `payload` to the webhook, retrying what may pass later (no
/// connection, a 429 or 5xx answer) with backoff.
pub async fn post(webhook: &str, payload: &Value, retries: u32, first_retry: Duration) -> Result<(), DeliveryError> {
    let shown = redacted_url(webhook);
    let failed = |message: String| DeliveryError::Slack {
        url: shown.clone(),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut wait = first_retry;
    let mut attempt = 0;
    loop {
        let outcome = client.post(webhook).json(payload).send().await;
        let retryable = match outcome {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => {
                let status = answer.status();
                let body = answer.text().await.unwrap_or_default();
                let message = format!("it answered {status}: {}", body.chars().take(200).collect::<String>());
                if !(status.is_server_error() || status.as_u16() == 429) || attempt >= retries {
                    return Err(failed(message));
                }
                message
            }
            // The error's text may hold the URL; say what failed without it.
            Err(error) if attempt < retries => describe(&error),
            Err(error) => return Err(failed(describe(&error))),
        };
        attempt += 1;
        tracing::warn!(url = %shown, attempt, retry_in_seconds = wait.as_secs(), error = %retryable, "Slack post failed; trying again");
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
    }
}

fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_connect() {
        "cannot connect"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "the request failed"
    };
    let mut cause = std::error::Error::source(error);
    let mut deepest = None;
    while let Some(c) = cause {
        deepest = Some(c.to_string());
        cause = c.source();
    }
    match deepest {
        Some(d) => format!("{what}: {d}"),
        None => what.to_owned(),
    }
}
