//! Each task's own log, as Luigi and Airflow keep one: the `tracing` events
//! inside a task's span are appended to `run-logs/RUN_ID/TASK.log` in the
//! project, and the file's last lines become the task's `log_tail` in the run
//! history, which the Pipeline dashboard and the failure alert show.
//!
//! The binary installs [`TaskLogLayer`] beside its terminal output; without it
//! (a library user, a unit test) tasks run the same and their tail is empty.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The project folder that holds every run's task logs.
pub const RUN_LOGS_DIR: &str = "run-logs";
/// How many of a log's last lines the run history keeps.
pub const TAIL_LINES: usize = 20;
/// A tail never reads more than this much of a file, however long its lines.
const TAIL_BYTES: u64 = 16 * 1024;
const SPAN_NAME: &str = "task";

/// Where run `run_id` writes `task`'s log.
pub fn task_log_path(project_dir: &Path, run_id: i64, task: &str) -> PathBuf {
    project_dir
        .join(RUN_LOGS_DIR)
        .join(run_id.to_string())
        .join(format!("{task}.log"))
}

/// The span a task runs in; its events go to `log_file`.
pub fn task_span(task: &str, run_id: i64, day: &str, log_file: &Path) -> tracing::Span {
    tracing::info_span!(SPAN_NAME, task = %task, run_id, day = %day, log_file = %log_file.display())
}

/// The last [`TAIL_LINES`] lines of a task's log, or `None` when it wrote none.
pub fn read_tail(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // cut mid-line by the byte bound
    }
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    (!tail.is_empty()).then_some(tail)
}

/// What the task logs keep: darkroom's own events from `info`, other crates'
/// (DataFusion, Delta) from `warn`, whatever the terminal shows.
pub fn task_log_filter() -> Targets {
    Targets::new()
        .with_target("darkroom", LevelFilter::INFO)
        .with_default(LevelFilter::WARN)
}

/// Writes the events inside a task's span to the file its `log_file` field names.
#[derive(Debug, Default, Clone, Copy)]
pub struct TaskLogLayer;

struct TaskLogFile(Mutex<File>);

impl<S> Layer<S> for TaskLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != SPAN_NAME {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(path) = fields.log_file else { return };
        let path = PathBuf::from(path);
        // A log that cannot be written must not fail the night (nor can a layer
        // log its own trouble): the task runs, its tail stays empty, and the
        // terminal still shows every event.
        let opened = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path));
        if let (Ok(file), Some(span)) = (opened, ctx.span(id)) {
            span.extensions_mut().insert(TaskLogFile(Mutex::new(file)));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            let extensions = span.extensions();
            let Some(TaskLogFile(file)) = extensions.get::<TaskLogFile>() else {
                continue;
            };
            let line = format_line(event);
            if let Ok(mut file) = file.lock() {
                // One write per line, so two tasks' lines never interleave mid-line.
                let _ = file.write_all(line.as_bytes());
            }
            return;
        }
    }
}

/// `2026-12-07T14:22:01Z  WARN darkroom_pipeline::load: message key=value`
fn format_line(event: &Event<'_>) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let meta = event.metadata();
    let mut line = format!(
        "{} {:>5} {}: {}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        meta.level(),
        meta.target(),
        fields.message.unwrap_or_default()
    );
    for (key, value) in fields.rest {
        let _ = write!(line, " {key}={value}");
    }
    line.push('\n');
    line
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    log_file: Option<String>,
    rest: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = Some(value.to_owned()),
            "log_file" => self.log_file = Some(value.to_owned()),
            name => self.rest.push((name, value.to_owned())),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_of_a_long_log() {
        let dir = tempfile::tempdir().expect("test io");
        let path = dir.path().join("t.log");
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).expect("test io");
        let tail = read_tail(&path).expect("test io");
        let lines: Vec<&str> = tail.lines().collect();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.first(), Some(&"line 81"));
        assert_eq!(lines.last(), Some(&"line 100"));
        assert_eq!(read_tail(&dir.path().join("missing.log")), None);
    }

    #[test]
    fn tail_of_huge_lines_reads_a_bounded_part() {
        let dir = tempfile::tempdir().expect("test io");
        let path = dir.path().join("t.log");
        let long = "x".repeat(1 << 20);
        std::fs::write(&path, format!("{long}\nlast line\n")).expect("test io");
        assert_eq!(read_tail(&path).as_deref(), Some("last line"));
    }
}
