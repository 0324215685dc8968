//! A simulated photo site with its nights run, built once per test binary and
//! copied for each test; mail read back; images checked by decoding them.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use darkroom_delivery::{Deliverer, DeliveryConfig, ShareLinks};
use darkroom_pipeline::{Project, RunOptions, parse_day, run_range};
use darkroom_sim::{AdvanceOptions, Outputs};

pub const START: &str = "2015-02-02";
pub const DAYS: u32 = 9;
/// The last simulated day: the day the latest night was run for.
pub const LAST_DAY: &str = "2015-02-10";

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn build_fixture(dir: &Path) {
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/photosite"),
        dir,
    );
    let project = Project::load(dir).expect("project");
    let external = project.external();
    let outputs = Outputs {
        logs: project.logs_root().expect("logs"),
        production_url: project.production_url(),
        google_analytics: external.google_analytics,
        stripe: external.stripe,
        paypal: external.paypal,
        plan: external.plan,
    };
    let options = AdvanceOptions {
        days: DAYS,
        seed: 11,
        users: 300,
        start: START.into(),
        faults: Vec::new(),
    };
    let runtime = runtime();
    darkroom_sim::advance_each_day(dir, &outputs, &options, |day| {
        let day = parse_day(day).expect("day");
        runtime
            .block_on(run_range(&project, day, day, RunOptions { force: false }, |_| {}))
            .expect("nightly run succeeds");
        ControlFlow::Continue(())
    })
    .expect("advance");
}

/// A fresh copy of the shared site (named by this binary's build, so a rebuild makes a new one).
pub fn site() -> tempfile::TempDir {
    let built = std::env::current_exe()
        .and_then(|exe| exe.metadata())
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs());
    let name = format!("delivery-fixture-{built}");
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let ready = root.join(&name);
    if !ready.join("done").exists() {
        let building = root.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        build_fixture(&building);
        std::fs::write(building.join("done"), "").expect("mark");
        if std::fs::rename(&building, &ready).is_err() {
            let _ = std::fs::remove_dir_all(&building);
        }
        for old in std::fs::read_dir(&root).into_iter().flatten().filter_map(Result::ok) {
            let file_name = old.file_name().to_string_lossy().into_owned();
            if file_name.starts_with("delivery-fixture-") && !file_name.starts_with(&name) {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
    }
    let copy = tempfile::tempdir().expect("temp dir");
    copy_tree(&ready, copy.path());
    copy
}

/// Puts `extra` (delivery sections) in place of the template's.
pub fn configure(dir: &Path, extra: &str) {
    let path = dir.join("darkroom.toml");
    let template = std::fs::read_to_string(&path).expect("project file");
    let mut text = template
        .split("\n# Schedules and delivery")
        .next()
        .expect("the template's own part")
        .to_owned();
    text.push('\n');
    text.push_str(extra);
    std::fs::write(&path, text).expect("write project file");
}

/// Share tokens handed out, as the app's accounts would make them.
#[derive(Debug, Default)]
pub struct RecordedShares(pub std::sync::Mutex<Vec<(String, u32)>>);

impl ShareLinks for RecordedShares {
    fn share(&self, dashboard: &str, days: u32) -> Result<String, String> {
        let mut made = self.0.lock().expect("lock");
        made.push((dashboard.to_owned(), days));
        Ok(format!("token{}", made.len()))
    }
}

pub fn delivery_for(dir: &Path) -> (Deliverer, Arc<RecordedShares>) {
    let project = Project::load(dir).expect("project");
    let slugs: Vec<String> = darkroom_dashboards::load_dir(&dir.join("dashboards"))
        .into_iter()
        .filter_map(Result::ok)
        .map(|d| d.slug)
        .collect();
    let config = DeliveryConfig::load(dir, &slugs, "127.0.0.1:8080").expect("delivery settings");
    let shares = Arc::new(RecordedShares::default());
    (
        Deliverer {
            project,
            config,
            shares: Some(Arc::clone(&shares) as Arc<dyn ShareLinks>),
        },
        shares,
    )
}

/// The `.eml` files of a folder, oldest first.
pub fn mails_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "eml"));
    files.sort();
    files
}

/// A PNG that decodes and is not (almost) one colour; its width.
pub fn assert_drawn_png(bytes: &[u8], what: &str) -> u32 {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{what} does not decode: {e}"));
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    let pixels = &pixels[..frame.buffer_size()];
    let step = frame.color_type.samples();
    let first = &pixels[..step];
    let unlike = pixels.chunks(step).filter(|p| *p != first).count();
    assert!(unlike > 1000, "{what} is (almost) one colour: {unlike} pixels differ");
    frame.width
}

/// The simulator's true value of `metric` by day.
pub fn truth(dir: &Path, metric: &str) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(dir.join(darkroom_sim::TRUTH_METRICS_FILE)).expect("truth");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields.get(1) == Some(&metric)).then(|| (fields[0].to_owned(), fields[2].parse().unwrap_or(f64::NAN)))
        })
        .collect()
}
