//! Turns an error into what the user sees: `error: what and where`, then `hint: what to do`.

use std::process::ExitCode;

use darkroom_audit::AuditError;
use darkroom_delivery::DeliveryError;
use darkroom_logs::LogsError;
use darkroom_metrics::MetricsError;
use darkroom_pgwire::PgwireError;
use darkroom_pipeline::{PipelineError, ProjectError};
use darkroom_sim::SimError;
use darkroom_sources::SourcesError;
use darkroom_warehouse::WarehouseError;
use darkroom_web::WebError;

use crate::commands::audit::FindingsFailed;

/// Exit code 1: the work failed. Exit code 2: bad usage or configuration.
const WORK_FAILED: u8 = 1;
const BAD_USAGE: u8 = 2;

/// An error raised by the CLI itself, with its own hint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: &'static str,
}

#[allow(clippy::print_stderr)]
pub fn report(error: &anyhow::Error) -> ExitCode {
    let (message, hint, code) = render(error);
    eprintln!("error: {message}");
    if !hint.is_empty() {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(code)
}

/// The error's line, its hint and the exit code. Each cause is said once: a
/// cause whose text an outer message already holds (most messages name their
/// cause) is not repeated.
pub fn render(error: &anyhow::Error) -> (String, &'static str, u8) {
    let (hint, code) = classify(error);
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    (message, hint, code)
}

fn classify(error: &anyhow::Error) -> (&'static str, u8) {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<UsageError>() {
            return (e.hint, BAD_USAGE);
        }
        if let Some(e) = cause.downcast_ref::<PipelineError>() {
            if let PipelineError::Warehouse(inner) = e {
                return warehouse(inner);
            }
            if let PipelineError::Metrics(inner) = e {
                return (inner.hint(), if inner.is_usage() { BAD_USAGE } else { WORK_FAILED });
            }
            return (e.hint(), if e.is_usage() { BAD_USAGE } else { WORK_FAILED });
        }
        if let Some(e) = cause.downcast_ref::<WebError>() {
            // A wrapped library error is classified at its own level, next in the chain.
            if matches!(e, WebError::Pipeline(_) | WebError::Dashboard(_)) {
                continue;
            }
            return (e.hint(), if e.is_usage() { BAD_USAGE } else { WORK_FAILED });
        }
        if let Some(e) = cause.downcast_ref::<DeliveryError>() {
            let code = match e {
                DeliveryError::Pipeline(_) | DeliveryError::Dashboard(_) => continue,
                DeliveryError::Config { .. }
                | DeliveryError::NoSuchDashboard { .. }
                | DeliveryError::NoRecipients { .. } => BAD_USAGE,
                _ => WORK_FAILED,
            };
            return (e.hint(), code);
        }
        if let Some(e) = cause.downcast_ref::<ProjectError>() {
            return (e.hint(), BAD_USAGE);
        }
        if let Some(e) = cause.downcast_ref::<LogsError>() {
            return (e.hint(), BAD_USAGE);
        }
        if let Some(e) = cause.downcast_ref::<SimError>() {
            return (e.hint(), if e.is_usage() { BAD_USAGE } else { WORK_FAILED });
        }
        if let Some(e) = cause.downcast_ref::<WarehouseError>() {
            return warehouse(e);
        }
        if let Some(e) = cause.downcast_ref::<AuditError>() {
            return (e.hint(), if e.is_usage() { BAD_USAGE } else { WORK_FAILED });
        }
        if cause.downcast_ref::<FindingsFailed>().is_some() {
            return (
                "the findings above say what failed and where to look; `darkroom sql \"SELECT * FROM audit_results\"` \
                 has every night's",
                WORK_FAILED,
            );
        }
        if let Some(e) = cause.downcast_ref::<SourcesError>() {
            let code = if matches!(e, SourcesError::UnknownScheme { .. }) {
                BAD_USAGE
            } else {
                WORK_FAILED
            };
            return (e.hint(), code);
        }
        if let Some(e) = cause.downcast_ref::<PgwireError>() {
            let code = match e {
                PgwireError::Setting { .. } | PgwireError::Tls { .. } => BAD_USAGE,
                PgwireError::Listen { .. } | PgwireError::Session { .. } => WORK_FAILED,
            };
            return (e.hint(), code);
        }
        if let Some(e) = cause.downcast_ref::<MetricsError>() {
            return (e.hint(), if e.is_usage() { BAD_USAGE } else { WORK_FAILED });
        }
    }
    ("", WORK_FAILED)
}

fn warehouse(error: &WarehouseError) -> (&'static str, u8) {
    let code = match error {
        WarehouseError::Logs(_) | WarehouseError::Archive { .. } | WarehouseError::Register { .. } => BAD_USAGE,
        _ => WORK_FAILED,
    };
    (error.hint(), code)
}
