//! Progress of long work for the person at a terminal: days done, rows,
//! elapsed time and ETA on stderr. When stderr is not a terminal (a log file,
//! CI, cron), nothing is drawn and the work ends with one summary line.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Days of a long command, one tick per finished day.
#[derive(Debug)]
pub struct DayProgress {
    bar: Option<ProgressBar>,
    started: Instant,
    what: &'static str,
    days: u64,
    rows: u64,
}

impl DayProgress {
    /// `what` says what a day is, as in "nights run" or "days generated".
    pub fn new(total_days: u64, what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total_days), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {msg}  {elapsed_precise} elapsed, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(what);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            what,
            days: 0,
            rows: 0,
        }
    }

    /// One more day done, `rows` written for it; `day` names it.
    pub fn day_done(&mut self, day: &str, rows: u64) {
        self.days += 1;
        self.rows += rows;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("(last {day}, {} rows)", self.rows));
            bar.inc(1);
        }
    }

    /// Prints a line above the bar, or as is without one.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| crate::say(line)),
            None => crate::say(line),
        }
    }

    /// Clears the bar and prints the summary to stderr, if any day finished
    /// (otherwise the error that stopped the work says it all).
    #[allow(clippy::print_stderr)]
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.days == 0 {
            return;
        }
        let rows = if self.rows > 0 {
            format!(", {} rows written", self.rows)
        } else {
            String::new()
        };
        eprintln!(
            "{}: {} in {:.1} s{rows}",
            self.what,
            self.days,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// A spinner with the elapsed time while a query runs, on a terminal only.
#[derive(Debug)]
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn new(what: &str) -> Self {
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        }))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
