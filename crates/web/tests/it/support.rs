//! A simulated photo site, its nights run, the template's dashboards and three
//! users: built once per test run (a folder under the target directory) and
//! copied for each test, so every test starts from the same world.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use darkroom_pipeline::{Project, RunOptions, parse_day, run_range};
use darkroom_sim::{AdvanceOptions, Outputs};
use darkroom_web::{AppState, Role, router};
use tower::ServiceExt as _;

pub const START: &str = "2015-02-02";
pub const DAYS: u32 = 16;
pub const PASSWORD: &str = "correct horse battery";
/// The fixture's folder: named by this test binary's build time, so a change
/// to the simulator, the pipeline or the templates (any rebuild) makes a new one.
fn fixture_name() -> String {
    let built = std::env::current_exe()
        .and_then(|exe| exe.metadata())
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs());
    format!("web-fixture-{built}")
}

fn template_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/photosite")
}

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

fn outputs(project: &Project) -> Outputs {
    let external = project.external();
    Outputs {
        logs: project.logs_root().expect("logs"),
        production_url: project.production_url(),
        google_analytics: external.google_analytics,
        stripe: external.stripe,
        paypal: external.paypal,
        plan: external.plan,
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Grows the site by `days` and runs each night after its day.
pub fn grow_and_run(dir: &Path, days: u32) {
    let project = Project::load(dir).expect("project");
    let runtime = runtime();
    let options = AdvanceOptions {
        days,
        seed: 5,
        users: 400,
        start: START.into(),
        faults: Vec::new(),
    };
    darkroom_sim::advance_each_day(dir, &outputs(&project), &options, |day| {
        let day = parse_day(day).expect("day");
        runtime
            .block_on(run_range(&project, day, day, RunOptions { force: false }, |_| {}))
            .expect("nightly run succeeds");
        ControlFlow::Continue(())
    })
    .expect("advance");
}

fn build_fixture(dir: &Path) {
    copy_tree(&template_dir(), dir);
    grow_and_run(dir, DAYS);
    let accounts = darkroom_web::Accounts::open(&dir.join("state.db")).expect("accounts");
    for (name, role) in [("ada", Role::Admin), ("eve", Role::Editor), ("vic", Role::Viewer)] {
        accounts.add_user(name, role, PASSWORD).expect("user");
    }
}

/// A fresh copy of the shared fixture.
pub fn site() -> tempfile::TempDir {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let name = fixture_name();
    let ready = root.join(&name);
    if !ready.join("done").exists() {
        let building = root.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        build_fixture(&building);
        std::fs::write(building.join("done"), "").expect("mark");
        // Another test may have finished first; either copy is the same world.
        if std::fs::rename(&building, &ready).is_err() {
            let _ = std::fs::remove_dir_all(&building);
        }
        for old in std::fs::read_dir(&root).into_iter().flatten().filter_map(Result::ok) {
            let file_name = old.file_name().to_string_lossy().into_owned();
            if file_name.starts_with("web-fixture-") && !file_name.starts_with(&name) {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
    }
    let copy = tempfile::tempdir().expect("temp dir");
    copy_tree(&ready, copy.path());
    copy
}

/// The app over a project, answering requests without a socket.
pub struct App {
    pub state: AppState,
    pub runtime: tokio::runtime::Runtime,
    pub dir: PathBuf,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// How a request says who it is.
#[derive(Debug, Clone, Default)]
pub struct Login {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl App {
    pub fn open(dir: &Path) -> Self {
        let runtime = runtime();
        let project = Project::load(dir).expect("project");
        let state = runtime
            .block_on(AppState::open(project, runtime.handle().clone()))
            .expect("app opens");
        Self {
            state,
            runtime,
            dir: dir.to_owned(),
        }
    }

    pub fn send(&self, method: Method, path: &str, login: &Login, body: Option<(&str, String)>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(cookie) = &login.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(csrf) = &login.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(token) = &login.bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some((content_type, body)) => request
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let app = router(self.state.clone());
        self.runtime.block_on(async {
            let response = app.oneshot(request).await.expect("answered");
            let status = response.status();
            let headers = response.headers().clone();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body")
                .to_vec();
            Answer { status, headers, body }
        })
    }

    pub fn get(&self, path: &str, login: &Login) -> Answer {
        self.send(Method::GET, path, login, None)
    }

    pub fn post_json(&self, path: &str, login: &Login, body: serde_json::Value) -> Answer {
        self.send(Method::POST, path, login, Some(("application/json", body.to_string())))
    }

    /// Logs `user` in through `POST /api/login`.
    pub fn login(&self, user: &str) -> Login {
        let answer = self.post_json(
            "/api/login",
            &Login::default(),
            serde_json::json!({ "user": user, "password": PASSWORD }),
        );
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let cookie = answer.header("set-cookie");
        let pair = cookie.split(';').next().expect("a cookie").to_owned();
        Login {
            cookie: Some(pair),
            csrf: answer.json()["csrf"].as_str().map(str::to_owned),
            bearer: None,
        }
    }

    /// Every Delta table's latest commit number.
    pub fn versions(&self) -> BTreeMap<String, i64> {
        darkroom_warehouse::Warehouse::open(&self.dir.join("warehouse"))
            .expect("warehouse")
            .committed_versions()
            .expect("versions")
    }
}

/// The simulator's true daily value of `metric`, by date.
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

/// `text` as a query string value, every byte but letters, digits and `-_.` escaped.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
