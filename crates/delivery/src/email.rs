//! A report as an email (an HTML part with each chart an inline PNG, a plain
//! text part, the attachments asked for) and its way out: SMTP through
//! lettre, or an `.eml` file in the outbox when no server is set.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use maud::{Markup, PreEscaped, html};

use crate::config::{EmailSettings, MailTransport, redacted_url};
use crate::error::DeliveryError;
use crate::report::{Body, DrawnChart, NightProblem, Report};

const FONT: &str = "font-family:'DejaVu Sans',Helvetica,Arial,sans-serif";

/// Where a sent mail went, for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Smtp { server: String },
    Outbox { file: std::path::PathBuf },
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { server } => write!(f, "through {server}"),
            Self::Outbox { file } => write!(f, "to {}", file.display()),
        }
    }
}

fn status_colour(status: &str) -> &'static str {
    match status {
        "fail" => "#B00020",
        "warn" => "#8A5A00",
        _ => "#1B6E20",
    }
}

fn chart_html(chart: &DrawnChart) -> Markup {
    html! {
        h2 style={ "font-size:16px;margin:28px 0 6px;" (FONT) } { (chart.title) }
        a href=(chart.link) {
            img src={ "cid:chart-" (chart.id) } width="640" alt={ (chart.title) (chart.headline.as_ref().map(|h| format!(": {h}")).unwrap_or_default()) }
                style="display:block;max-width:100%;height:auto;border:1px solid #dddddd";
        }
        @if let Some(definition) = &chart.definition {
            p style={ "font-size:13px;color:#444444;margin:6px 0;" (FONT) } {
                (definition)
                @if let Some(owner) = &chart.owner { " · owner: " (owner) }
            }
        }
        @if !chart.audits.is_empty() {
            p style={ "font-size:13px;margin:4px 0;" (FONT) } {
                "Latest audits: "
                @for (i, (check, status)) in chart.audits.iter().enumerate() {
                    @if i > 0 { ", " }
                    (check) " "
                    strong style={ "color:" (status_colour(status)) } { (status) }
                }
            }
        }
    }
}

fn problem_html(problem: &NightProblem, stale: bool) -> Markup {
    html! {
        p style={ "font-size:15px;color:#B00020;" (FONT) } {
            @if stale { strong { "These numbers were not updated. " } }
            (problem.summary)
        }
        @if stale {
            p style={ "font-size:14px;" (FONT) } {
                "This email shows no numbers rather than yesterday's numbers as if they were today's."
            }
        }
        @for task in &problem.failed {
            h2 style={ "font-size:15px;margin:20px 0 4px;" (FONT) } { "Failed: " code { (task.task) } }
            p style={ "font-size:13px;" (FONT) } { (task.error) }
            @if let Some(tail) = &task.log_tail {
                p style={ "font-size:13px;margin:8px 0 2px;" (FONT) } { "The end of its log:" }
                pre style="font-size:12px;background:#f4f4f4;padding:8px;overflow:auto;white-space:pre-wrap" { (tail) }
            }
        }
        p style={ "font-size:14px;" (FONT) } {
            "Once the cause is fixed: " code { (problem.rerun) }
        }
    }
}

/// The HTML part.
pub fn report_html(report: &Report) -> String {
    let day = report.day.map(|d| d.format("%a %-d %b %Y").to_string());
    let page = html! {
        (PreEscaped("<!DOCTYPE html>"))
        html lang="en" {
            head { meta charset="utf-8"; title { (report.subject()) } }
            body style="margin:0;padding:16px;background:#ffffff;color:#222222" {
                div style={ "max-width:680px;margin:0 auto;" (FONT) } {
                    h1 style={ "font-size:21px;margin:0 0 4px;" (FONT) } { (report.title) }
                    p style={ "font-size:13px;color:#555555;margin:0 0 12px;" (FONT) } {
                        @if let Some(day) = &day { "Numbers to " (day) " · " }
                        a href=(report.link) { "Open it in darkroom" }
                    }
                    @if let Some(description) = &report.description {
                        p style={ "font-size:14px;" (FONT) } { (description) }
                    }
                    @match &report.body {
                        Body::Charts(charts) => { @for chart in charts { (chart_html(chart)) } }
                        Body::Tearsheet { html, .. } => { (PreEscaped(html.clone())) }
                        Body::NotUpdated(problem) => { (problem_html(problem, true)) }
                        Body::Alert(problem) => { (problem_html(problem, false)) }
                    }
                    p style={ "font-size:12px;color:#777777;margin-top:28px;" (FONT) } {
                        "Sent by darkroom."
                        @if matches!(report.body, Body::Charts(_)) { " Every chart links to its live dashboard." }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// The plain-text part: what the HTML says, for readers that show no HTML.
pub fn report_text(report: &Report) -> String {
    let mut text = format!("{}\n", report.subject());
    if let Some(description) = &report.description {
        text.push_str(&format!("{description}\n"));
    }
    text.push_str(&format!("Open it in darkroom: {}\n", report.link));
    match &report.body {
        Body::Charts(charts) => {
            for chart in charts {
                text.push_str(&format!(
                    "\n{}{}\n",
                    chart.title,
                    chart.headline.as_ref().map(|h| format!(": {h}")).unwrap_or_default()
                ));
                if let Some(definition) = &chart.definition {
                    text.push_str(&format!("  {definition}\n"));
                }
                if !chart.audits.is_empty() {
                    let audits: Vec<String> = chart.audits.iter().map(|(c, s)| format!("{c} {s}")).collect();
                    text.push_str(&format!("  Latest audits: {}\n", audits.join(", ")));
                }
                text.push_str(&format!("  {}\n", chart.link));
            }
        }
        Body::Tearsheet { .. } => text.push_str("\nThe tearsheet is in the HTML part and attached.\n"),
        Body::NotUpdated(problem) | Body::Alert(problem) => {
            let stale = if matches!(report.body, Body::NotUpdated(_)) {
                "These numbers were not updated. "
            } else {
                ""
            };
            text.push_str(&format!("\n{stale}{}\n", problem.summary));
            for task in &problem.failed {
                text.push_str(&format!("\nFailed: {}\n{}\n", task.task, task.error));
                if let Some(tail) = &task.log_tail {
                    text.push_str(&format!("The end of its log:\n{tail}\n"));
                }
            }
            text.push_str(&format!("\nOnce the cause is fixed: {}\n", problem.rerun));
        }
    }
    text
}

fn compose_error(e: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::Compose { message: e.to_string() }
}

/// The whole message: text and HTML alternatives, the charts inline, the files attached.
pub fn report_message(report: &Report, from: &Mailbox, to: &[Mailbox]) -> Result<Message, DeliveryError> {
    let mut builder = Message::builder().from(from.clone()).subject(report.subject());
    for address in to {
        builder = builder.to(address.clone());
    }
    let png = ContentType::parse("image/png").map_err(compose_error)?;
    let mut related = MultiPart::related().singlepart(SinglePart::html(report_html(report)));
    let mut files = Vec::new();
    match &report.body {
        Body::Charts(charts) => {
            for chart in charts {
                related = related.singlepart(
                    Attachment::new_inline(format!("chart-{}", chart.id)).body(chart.png.clone(), png.clone()),
                );
                files.extend(chart.files.iter().cloned());
            }
        }
        Body::Tearsheet { files: attached, .. } => files.extend(attached.iter().cloned()),
        Body::NotUpdated(_) | Body::Alert(_) => {}
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(report_text(report)))
        .multipart(related);
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for (name, content_type, bytes) in files {
        let content_type = ContentType::parse(content_type).map_err(compose_error)?;
        // Base64 whatever the kind: a CSV's bare newlines would otherwise make
        // lines past SMTP's 998-byte limit, and its bytes arrive exactly as written.
        let body = lettre::message::Body::new_with_encoding(bytes, ContentTransferEncoding::Base64)
            .map_err(|_| compose_error(format!("{name} cannot be encoded")))?;
        mixed = mixed.singlepart(Attachment::new(name).body(body, content_type));
    }
    builder.multipart(mixed).map_err(compose_error)
}

/// Sends `message` as `settings` say. SMTP failures that may pass (no
/// connection, a timeout, a 4xx answer) are retried with backoff; a refused
/// login or address (5xx) fails at once.
pub async fn send(settings: &EmailSettings, message: &Message, name: &str) -> Result<Sent, DeliveryError> {
    match &settings.transport {
        MailTransport::Outbox(dir) => {
            let fail = |source| DeliveryError::Outbox {
                path: dir.clone(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(fail)?;
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
            let file = dir.join(format!("{stamp}-{name}.eml"));
            // Whole or not at all: a reader of the outbox never sees half a mail.
            let partial = dir.join(format!(".{stamp}-{name}.eml.partial"));
            std::fs::write(&partial, message.formatted()).map_err(fail)?;
            std::fs::rename(&partial, &file).map_err(fail)?;
            Ok(Sent::Outbox { file })
        }
        MailTransport::Smtp { url, ca_file } => {
            let server = redacted_url(url);
            let transport = smtp_transport(url, ca_file.as_deref(), settings.timeout, &server)?;
            let mut wait = settings.first_retry;
            let mut attempt = 0;
            loop {
                // lettre's timeout covers each read and write; this one covers a
                // server that accepts the connection and then never answers.
                let outcome = tokio::time::timeout(settings.timeout * 4, transport.send(message.clone())).await;
                let (message, may_pass) = match outcome {
                    Ok(Ok(_)) => return Ok(Sent::Smtp { server }),
                    Ok(Err(error)) => (smtp_message(&error), may_pass_later(&error)),
                    Err(_) => (format!("no answer within {} s", (settings.timeout * 4).as_secs()), true),
                };
                if !may_pass || attempt >= settings.retries {
                    let tries = if attempt > 0 {
                        format!(" (after {} tries)", attempt + 1)
                    } else {
                        String::new()
                    };
                    return Err(DeliveryError::Smtp {
                        server,
                        message: format!("{message}{tries}"),
                    });
                }
                attempt += 1;
                tracing::warn!(server = %server, attempt, retry_in_seconds = wait.as_secs(), error = %message, "mail not sent; trying again");
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
        }
    }
}

/// A refused login, address or message (5xx), a TLS or client mistake will
/// not pass by waiting; no connection, a timeout or a 4xx answer may.
fn may_pass_later(error: &lettre::transport::smtp::Error) -> bool {
    error.is_transient()
        || error.is_timeout()
        || !(error.is_permanent() || error.is_client() || error.is_tls() || error.is_response())
}

/// The error and its causes, each said once.
fn smtp_message(error: &lettre::transport::smtp::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    message
}

fn smtp_transport(
    url: &str,
    ca_file: Option<&std::path::Path>,
    timeout: Duration,
    server: &str,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let failed = |message: String| DeliveryError::Smtp {
        server: server.to_owned(),
        message,
    };
    let parsed = url::Url::parse(url).map_err(|e| failed(e.to_string()))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let mut tls = TlsParameters::builder(host.clone());
    if let Some(ca_file) = ca_file {
        let pem =
            std::fs::read(ca_file).map_err(|e| failed(format!("cannot read ca_file {}: {e}", ca_file.display())))?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|e| failed(format!("ca_file {} is not a PEM certificate: {e}", ca_file.display())))?;
        tls = tls.add_root_certificate(certificate);
    }
    let tls = tls.build().map_err(|e| failed(format!("TLS settings: {e}")))?;
    let (tls, default_port) = match parsed.scheme() {
        "smtps" => (Tls::Wrapper(tls), 465),
        _ => (Tls::Opportunistic(tls), 587),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(parsed.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(timeout));
    if !parsed.username().is_empty() {
        // `%40` and friends in a URL's user and password, as people write them.
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        builder = builder.credentials(Credentials::new(
            decode(parsed.username()),
            decode(parsed.password().unwrap_or_default()),
        ));
    }
    Ok(builder.build())
}
