//! `sim advance`: replays the world to the last generated day, then generates
//! and publishes the next days one at a time.
//!
//! A day is published whole or not at all: its files are written to a staging
//! folder first, then moved into place, then the truth and the world file are
//! replaced atomically. Regenerating a day yields the same bytes, so a crash
//! between those steps heals on the next call.

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use darkroom_logs::Action;
use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calendar::{MICROS_PER_DAY, MICROS_PER_HOUR, date, day_of_time, parse_date};
use crate::commerce::Provider;
use crate::error::SimError;
use crate::exports::{GA_HEADER, PROVIDER_HEADER, ga_row, missing_charge, provider_rows};
use crate::faults::{Fault, LOST_ACTION_SHARE, NEW_ACTION_SHARE};
use crate::funnels::Funnels;
use crate::lines::{MALFORMED_KINDS, malform, write_line};
use crate::plan::Plan;
use crate::production::{DayRows, Production};
use crate::random::{Random, Stream};
use crate::truth::{MetricValue, Snapshots, UploadSessions, commerce_metrics, day_metrics};
use crate::world::{SERVERS, SimEvent, World, WorldSpec};

pub const WORLD_FILE: &str = "sim/world.toml";
pub const TRUTH_METRICS_FILE: &str = "truth/daily_metrics.csv";
pub const TRUTH_FUNNELS_FILE: &str = "truth/funnels.csv";
/// What each fault damaged, for tests that check the warehouse against it.
pub const TRUTH_FAULTS_FILE: &str = "truth/faults.csv";
const FAULTS_HEADER: &str = "fault,day,file,lines,line_numbers,detail";
const TRUTH_HEADER: &str = "date,metric,value";
const STAGING: &str = "sim/.staging";

/// The arguments of `sim advance`; the world's shape only matters on the first call.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvanceOptions {
    pub days: u32,
    pub seed: u64,
    pub users: u64,
    pub start: String,
    pub faults: Vec<Fault>,
}

impl Default for AdvanceOptions {
    fn default() -> Self {
        Self {
            days: 1,
            seed: 1,
            users: 2000,
            start: "2015-01-05".into(),
            faults: Vec::new(),
        }
    }
}

/// What one call generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvanceReport {
    pub first_day: String,
    pub last_day: String,
    pub files: u64,
    pub lines: u64,
    pub bytes_uncompressed: u64,
    pub bytes_compressed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldFile {
    seed: u64,
    users: u64,
    start: String,
    /// Days generated so far.
    days: u32,
}

/// Where a world's output goes. `None` leaves that output out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// The root of `YYYY/MM/DD/HH/<server>.log.gz`.
    pub logs: PathBuf,
    /// `sqlite://...`, `mysql://...` or `postgres://...`.
    pub production_url: Option<String>,
    pub google_analytics: Option<PathBuf>,
    pub stripe: Option<PathBuf>,
    pub paypal: Option<PathBuf>,
    pub plan: Option<PathBuf>,
}

impl Outputs {
    /// Logs only: what tests and benchmarks of the log path need.
    pub fn logs_only(logs: PathBuf) -> Self {
        Self {
            logs,
            production_url: None,
            google_analytics: None,
            stripe: None,
            paypal: None,
            plan: None,
        }
    }
}

/// Grows the world of the project in `project_dir` by `options.days` days, writing
/// what `outputs` names and the truth under `project_dir/truth`. Blocking: it runs
/// its own small runtime for the database, so call it outside an async context.
pub fn advance(project_dir: &Path, outputs: &Outputs, options: &AdvanceOptions) -> Result<AdvanceReport, SimError> {
    advance_each_day(project_dir, outputs, options, |_| ControlFlow::Continue(()))
}

/// As [`advance`], calling `after_day` with each day (YYYY-MM-DD) once everything
/// of it is written, as a nightly job would see it; `Break` stops after that day.
pub fn advance_each_day(
    project_dir: &Path,
    outputs: &Outputs,
    options: &AdvanceOptions,
    mut after_day: impl FnMut(&str) -> ControlFlow<()>,
) -> Result<AdvanceReport, SimError> {
    if options.days == 0 {
        return Err(SimError::NotPositive { option: "days" });
    }
    let world_path = project_dir.join(WORLD_FILE);
    let world_file = match std::fs::read_to_string(&world_path) {
        Ok(text) => toml::from_str::<WorldFile>(&text).map_err(|e| SimError::BadWorldFile {
            path: world_path.clone(),
            message: e.message().to_owned(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if options.users == 0 {
                return Err(SimError::NotPositive { option: "users" });
            }
            WorldFile {
                seed: options.seed,
                users: options.users,
                start: options.start.clone(),
                days: 0,
            }
        }
        Err(source) => {
            return Err(SimError::Write {
                path: world_path,
                source,
            });
        }
    };
    let start = parse_date(&world_file.start).ok_or_else(|| SimError::BadStart {
        value: world_file.start.clone(),
    })?;
    let spec = WorldSpec {
        seed: world_file.seed,
        users: world_file.users,
        start,
    };
    let first = start + i64::from(world_file.days);
    let last = first + i64::from(options.days) - 1;
    Fault::check_range(&options.faults, first, last)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| SimError::Write {
            path: project_dir.to_owned(),
            source,
        })?;
    let production = match &outputs.production_url {
        Some(url) => Some(runtime.block_on(Production::connect(url))?),
        None => None,
    };

    let staging = project_dir.join(STAGING);
    let _ = std::fs::remove_dir_all(&staging);
    let mut report = AdvanceReport {
        first_day: date(first).to_string(),
        last_day: date(last).to_string(),
        files: 0,
        lines: 0,
        bytes_uncompressed: 0,
        bytes_compressed: 0,
    };
    let mut replay = Replay::new(spec);
    for day in start..=last {
        replay.complete_through(day + 1);
        let changes = replay.take_changes_through(day);
        replay.feed_funnels(day);
        if day < first {
            // Each week's target comes from the week two before it.
            let metrics = replay.metrics(day);
            replay.plan.observe(day, &metrics);
            replay.forget_before(day);
            continue;
        }
        // Production first: a failed transaction leaves nothing of the day anywhere.
        let missing = options
            .faults
            .iter()
            .any(|f| matches!(f, Fault::MissingPayment { day: d } if *d == day))
            .then(|| missing_charge(&replay.world, day))
            .flatten();
        if let Some(production) = &production {
            runtime.block_on(production.write(&changes, missing.as_deref()))?;
        }
        let (files, mut ledger) = replay.files_written_on(day, &options.faults);
        let written = stage_files(&staging, &files, &replay.world, day, &options.faults, spec.seed)?;
        publish(&staging, &outputs.logs, &written)?;
        ledger.extend(written.iter().flat_map(StagedFile::ledger));
        if let Some(txn_id) = &missing {
            ledger.push(LedgerRow::new("missing_payment", "production", 1).with_detail(txn_id));
        }
        let ledger: Vec<String> = ledger.iter().map(|row| row.csv(day)).collect();
        append_rows(&project_dir.join(TRUTH_FAULTS_FILE), FAULTS_HEADER, &ledger)?;

        let events = replay.by_date.get(&day).map(Vec::as_slice).unwrap_or_default();
        if let Some(path) = &outputs.google_analytics {
            append_rows(path, GA_HEADER, &[ga_row(&replay.world, day, events)])?;
        }
        for (path, provider) in [(&outputs.stripe, Provider::Stripe), (&outputs.paypal, Provider::Paypal)] {
            if let Some(path) = path {
                append_rows(path, PROVIDER_HEADER, &provider_rows(&replay.world, day, provider))?;
            }
        }
        let metrics = replay.metrics(day);
        let truth: Vec<String> = metrics
            .iter()
            .map(|(metric, value)| {
                format!(
                    "{},{metric},{}",
                    date(day),
                    value.map(|v| v.to_string()).unwrap_or_default()
                )
            })
            .collect();
        append_rows(&project_dir.join(TRUTH_METRICS_FILE), TRUTH_HEADER, &truth)?;
        write_atomically(&project_dir.join(TRUTH_FUNNELS_FILE), replay.funnels.csv().as_bytes())?;
        replay.plan.observe(day, &metrics);
        if let Some(path) = &outputs.plan {
            write_atomically(path, replay.plan.csv(start, last).as_bytes())?;
        }
        let done = WorldFile {
            days: world_file.days + (day - first + 1) as u32,
            ..world_file.clone()
        };
        let text = toml::to_string(&done).unwrap_or_default();
        write_atomically(&world_path, text.as_bytes())?;
        for file in &written {
            report.files += 1;
            report.lines += file.lines;
            report.bytes_uncompressed += file.uncompressed;
            report.bytes_compressed += file.compressed;
        }
        tracing::info!(day = %date(day), files = written.len(), "day generated");
        replay.forget_before(day);
        if after_day(&date(day).to_string()).is_break() {
            report.last_day = date(day).to_string();
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(report)
}

/// The world, replayed day by day, with events kept by their own date until no longer needed.
struct Replay {
    world: World,
    next_activity_day: i64,
    by_date: BTreeMap<i64, Vec<SimEvent>>,
    sessions: UploadSessions,
    sessions_fed_through: i64,
    snapshots: Snapshots,
    plan: Plan,
    funnels: Funnels,
    /// Production changes of each simulated day not yet written.
    changes: BTreeMap<i64, DayRows>,
}

impl Replay {
    fn new(spec: WorldSpec) -> Self {
        Self {
            world: World::create(spec),
            next_activity_day: spec.start,
            by_date: BTreeMap::new(),
            sessions: UploadSessions::default(),
            sessions_fed_through: spec.start - 1,
            snapshots: Snapshots::default(),
            plan: Plan::default(),
            funnels: Funnels::default(),
            changes: BTreeMap::new(),
        }
    }

    /// Simulates until every event dated `day` or earlier exists. A sitting lasts less
    /// than a day, so events dated d come from the activity of days d-1 and d only.
    fn complete_through(&mut self, day: i64) {
        while self.next_activity_day <= day {
            let day = self.next_activity_day;
            if day == self.world.spec.start {
                // The world as it stood before the first day is written with the first day.
                let before = self.world.take_changes();
                self.changes.insert(day - 1, DayRows::render(&self.world, &before));
            }
            for event in self.world.simulate_day(day) {
                self.by_date.entry(day_of_time(event.time)).or_default().push(event);
            }
            self.snapshots.record(&self.world, day);
            let changed = self.world.take_changes();
            self.changes.insert(day, DayRows::render(&self.world, &changed));
            self.next_activity_day += 1;
        }
        while self.sessions_fed_through < day {
            self.sessions_fed_through += 1;
            let events = self
                .by_date
                .get(&self.sessions_fed_through)
                .map(Vec::as_slice)
                .unwrap_or_default();
            self.sessions.add_day(events);
        }
    }

    fn metrics(&self, day: i64) -> Vec<MetricValue> {
        let events = self.by_date.get(&day).map(Vec::as_slice).unwrap_or_default();
        let mut metrics = day_metrics(&self.world, day, events, &self.sessions);
        metrics.extend(commerce_metrics(&self.world, day, &self.snapshots));
        metrics
    }

    /// Follows everyone through the funnels with everything dated `day`.
    fn feed_funnels(&mut self, day: i64) {
        let events = self.by_date.get(&day).map(Vec::as_slice).unwrap_or_default();
        self.funnels.add_day(&self.world, day, events);
    }

    /// The production changes up to the end of `day`, merged, oldest first.
    fn take_changes_through(&mut self, day: i64) -> DayRows {
        let later = self.changes.split_off(&(day + 1));
        let mut merged = DayRows::default();
        for (_, rows) in std::mem::replace(&mut self.changes, later) {
            merged.merge(rows);
        }
        merged
    }

    /// The events whose lines servers wrote during `day`, by file (hour start,
    /// server), and the ledger of the lines that `lossy_day` and `dead_server` lost.
    fn files_written_on(&self, day: i64, faults: &[Fault]) -> (HourFiles, Vec<LedgerRow>) {
        // Every server rotates and archives a file every hour, empty when it was idle.
        let mut files: HourFiles = (0..24)
            .flat_map(|h| (0..SERVERS).map(move |s| ((day * MICROS_PER_DAY + h * MICROS_PER_HOUR, s), Vec::new())))
            .collect();
        for events in self.by_date.range(day - 1..=day).map(|(_, e)| e) {
            for event in events.iter().filter(|e| day_of_time(e.written) == day) {
                let hour = event.written.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR;
                files.entry((hour, event.server)).or_default().push(*event);
            }
        }
        let mut ledger = Vec::new();
        let lost_actions: Vec<Action> = faults
            .iter()
            .filter_map(|f| match f {
                Fault::LostAction { action, day: d } if *d == day => Some(*action),
                _ => None,
            })
            .collect();
        for ((hour, server), events) in &mut files {
            events.sort_by_key(|e| e.written);
            if !lost_actions.is_empty() {
                let mut rng = Random::new(
                    self.world.spec.seed ^ (*hour as u64),
                    i64::from(*server) + 200,
                    Stream::Faults,
                );
                let before = events.len();
                events.retain(|e| !(lost_actions.contains(&e.action) && rng.chance(LOST_ACTION_SHARE)));
                let lost = (before - events.len()) as u64;
                if lost > 0 {
                    ledger.push(LedgerRow::new(
                        "lost_action",
                        &archive_name(*hour, *server, false),
                        lost,
                    ));
                }
            }
            if faults
                .iter()
                .any(|f| matches!(f, Fault::LossyDay { day: d } if *d == day))
            {
                let mut rng = Random::new(
                    self.world.spec.seed ^ (*hour as u64),
                    i64::from(*server) + 100,
                    Stream::Faults,
                );
                let before = events.len();
                events.retain(|_| !rng.chance(0.1));
                let lost = (before - events.len()) as u64;
                ledger.push(
                    LedgerRow::new("lossy_day", &archive_name(*hour, *server, false), lost)
                        .with_detail(&format!("kept={}", events.len())),
                );
            }
        }
        files.retain(|(hour, server), events| {
            let dead = faults.iter().any(
                |f| matches!(f, Fault::DeadServer { server: s, hour: h } if h == hour && *s == server_name(*server)),
            );
            if dead {
                ledger.push(LedgerRow::new(
                    "dead_server",
                    &archive_name(*hour, *server, false),
                    events.len() as u64,
                ));
            }
            !dead
        });
        (files, ledger)
    }

    fn forget_before(&mut self, day: i64) {
        self.by_date = self.by_date.split_off(&(day - 1));
        self.sessions.forget_before(day);
        self.snapshots.forget_before(day);
    }
}

pub fn server_name(server: u8) -> String {
    format!("api-{:02}", server + 1)
}

/// The events of each archive file of a day, by (hour start, server).
type HourFiles = BTreeMap<(i64, u8), Vec<SimEvent>>;

/// One file written to staging, and where it goes.
#[derive(Debug)]
struct StagedFile {
    relative: PathBuf,
    lines: u64,
    uncompressed: u64,
    compressed: u64,
    /// 1-based numbers of the lines `bad_lines` malformed.
    malformed: Vec<u64>,
    /// Cut in the middle of its gzip stream by `corrupt_gzip`.
    corrupt: bool,
    /// A byte-identical copy of another file, written by `duplicate_upload`.
    duplicate: bool,
    /// Lines of an action the vocabulary does not know, written by `new_action`.
    new_action_lines: u64,
}

impl StagedFile {
    fn ledger(&self) -> Vec<LedgerRow> {
        let file = self.relative.to_string_lossy().into_owned();
        let mut rows = Vec::new();
        if !self.malformed.is_empty() {
            let mut row = LedgerRow::new("bad_lines", &file, self.malformed.len() as u64);
            row.line_numbers.clone_from(&self.malformed);
            rows.push(row);
        }
        if self.corrupt {
            rows.push(LedgerRow::new("corrupt_gzip", &file, self.lines));
        }
        if self.duplicate {
            rows.push(LedgerRow::new("duplicate_upload", &file, self.lines));
        }
        if self.new_action_lines > 0 {
            rows.push(LedgerRow::new("new_action", &file, self.new_action_lines));
        }
        rows
    }
}

/// One row of `truth/faults.csv`: what a fault did to one file (or to production).
#[derive(Debug)]
struct LedgerRow {
    fault: &'static str,
    /// The archive's path below the logs folder, as `etl_log_files.source_file` names it.
    file: String,
    /// Lines malformed, lost, or in the damaged or copied file.
    lines: u64,
    line_numbers: Vec<u64>,
    detail: String,
}

impl LedgerRow {
    fn new(fault: &'static str, file: &str, lines: u64) -> Self {
        Self {
            fault,
            file: file.to_owned(),
            lines,
            line_numbers: Vec::new(),
            detail: String::new(),
        }
    }

    fn with_detail(mut self, detail: &str) -> Self {
        detail.clone_into(&mut self.detail);
        self
    }

    fn csv(&self, day: i64) -> String {
        let numbers: Vec<String> = self.line_numbers.iter().map(u64::to_string).collect();
        format!(
            "{},{},{},{},{},{}",
            self.fault,
            date(day),
            self.file,
            self.lines,
            numbers.join(" "),
            self.detail
        )
    }
}

/// An archive's path below the logs folder: `YYYY/MM/DD/HH/<server>.log.gz`.
fn archive_name(hour: i64, server: u8, retry: bool) -> String {
    let hour_dir = date(hour.div_euclid(MICROS_PER_DAY)).format("%Y/%m/%d").to_string()
        + &format!("/{:02}", hour.rem_euclid(MICROS_PER_DAY) / MICROS_PER_HOUR);
    let retry = if retry { ".retry" } else { "" };
    format!("{hour_dir}/{}{retry}.log.gz", server_name(server))
}

fn stage_files(
    staging: &Path,
    files: &HourFiles,
    world: &World,
    day: i64,
    faults: &[Fault],
    seed: u64,
) -> Result<Vec<StagedFile>, SimError> {
    let bad_rate = faults.iter().find_map(|f| match f {
        Fault::BadLines { rate } => Some(*rate),
        _ => None,
    });
    let new_action = faults.iter().find_map(|f| match f {
        Fault::NewAction { name, day: from } if *from <= day => Some(name.as_str()),
        _ => None,
    });
    let mut fault_rng = Random::new(seed, day, Stream::Faults);
    let files: Vec<(&(i64, u8), &Vec<SimEvent>)> = files.iter().collect();
    let duplicate = faults
        .iter()
        .any(|f| matches!(f, Fault::DuplicateUpload { day: d } if *d == day))
        .then(|| fault_rng.below(files.len() as u64) as usize);
    let corrupt = faults
        .iter()
        .any(|f| matches!(f, Fault::CorruptGzip { day: d } if *d == day))
        .then(|| fault_rng.below(files.len() as u64) as usize);

    let staged: Vec<Vec<StagedFile>> = files
        .par_iter()
        .enumerate()
        .map(|(index, ((hour, server), events))| {
            let mut text = String::with_capacity(events.len() * 140);
            let mut bytes = Vec::with_capacity(events.len() * 140);
            let mut rng = Random::new(seed ^ (*hour as u64), i64::from(*server), Stream::Faults);
            let mut malformed = Vec::new();
            let mut new_action_lines = 0;
            // Its own stream, so that the other faults damage the same lines with or without it.
            let mut release_rng = Random::new(seed ^ (*hour as u64), i64::from(*server) + 300, Stream::Faults);
            let mut line_number = 0;
            for (n, event) in events.iter().enumerate() {
                text.clear();
                write_line(&mut text, event, &world.visitors[event.visitor as usize]);
                line_number += 1;
                match bad_rate {
                    Some(rate) if rng.chance(rate) => {
                        bytes.extend_from_slice(&malform(text.trim_end_matches('\n'), n % MALFORMED_KINDS));
                        bytes.push(b'\n');
                        malformed.push(line_number);
                    }
                    _ => bytes.extend_from_slice(text.as_bytes()),
                }
                if let Some(name) = new_action
                    && event.action == Action::PhotoView
                    && release_rng.chance(NEW_ACTION_SHARE)
                {
                    bytes.extend_from_slice(&with_action(&text, name));
                    line_number += 1;
                    new_action_lines += 1;
                }
            }
            let mut compressed = gzip(&bytes).map_err(|source| SimError::Write {
                path: staging.to_owned(),
                source,
            })?;
            if corrupt == Some(index) {
                compressed.truncate(compressed.len() / 2);
            }
            let mut out = vec![StagedFile {
                relative: PathBuf::from(archive_name(*hour, *server, false)),
                lines: events.len() as u64,
                uncompressed: bytes.len() as u64,
                compressed: compressed.len() as u64,
                malformed,
                corrupt: corrupt == Some(index),
                duplicate: false,
                new_action_lines,
            }];
            if duplicate == Some(index) {
                out.push(StagedFile {
                    relative: PathBuf::from(archive_name(*hour, *server, true)),
                    lines: out[0].lines,
                    uncompressed: out[0].uncompressed,
                    compressed: out[0].compressed,
                    malformed: Vec::new(),
                    corrupt: out[0].corrupt,
                    duplicate: true,
                    new_action_lines: 0,
                });
            }
            for file in &out {
                let path = staging.join(&file.relative);
                write_new(&path, &compressed)?;
            }
            Ok(out)
        })
        .collect::<Result<_, SimError>>()?;
    Ok(staged.into_iter().flatten().collect())
}

/// The line with its ACTION field (the fourth) replaced by `name`.
fn with_action(line: &str, name: &str) -> Vec<u8> {
    let mut fields: Vec<&str> = line.splitn(5, ' ').collect();
    if fields.len() == 5 {
        fields[3] = name;
    }
    fields.join(" ").into_bytes()
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 6), Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let fail = |source| SimError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, bytes).map_err(fail)
}

fn publish(staging: &Path, logs_root: &Path, files: &[StagedFile]) -> Result<(), SimError> {
    for file in files {
        let target = logs_root.join(&file.relative);
        let fail = |source| SimError::Write {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::rename(staging.join(&file.relative), &target).map_err(fail)?;
    }
    Ok(())
}

/// Appends rows to a CSV file with `header`, replacing the file atomically.
fn append_rows(path: &Path, header: &str, rows: &[String]) -> Result<(), SimError> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{header}\n"),
        Err(source) => {
            return Err(SimError::Write {
                path: path.to_owned(),
                source,
            });
        }
    };
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())
}

/// Writes beside the target, then renames over it: readers see the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let temp = path.with_extension("tmp");
    write_new(&temp, bytes)?;
    std::fs::rename(&temp, path).map_err(|source| SimError::Write {
        path: path.to_owned(),
        source,
    })
}
