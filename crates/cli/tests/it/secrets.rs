//! The passwords and tokens of `darkroom.toml` never leave it: a night that
//! fails on its production database and alerts through SMTP and Slack that
//! both fail, a send, the data dictionary and the run history are searched,
//! every byte of what they printed and wrote, for each secret.

use std::path::Path;

use crate::{darkroom, project, stderr, stdout};

const PRODUCTION_PASSWORD: &str = "PRODSECRET-7f3a";
const SMTP_PASSWORD: &str = "MAILSECRET-91c2";
const SLACK_TOKEN: &str = "HOOKSECRET-5d1e";
const SECRETS: [&str; 3] = [PRODUCTION_PASSWORD, SMTP_PASSWORD, SLACK_TOKEN];

/// Every file below `dir` but the project file, with the secrets each holds.
fn files_holding_secrets(dir: &Path) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok) {
        if !entry.file_type().is_file() || entry.file_name() == "darkroom.toml" {
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("read");
        for secret in SECRETS {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push((entry.path().display().to_string(), secret));
            }
        }
    }
    found
}

#[test]
fn no_password_or_token_of_the_project_file_appears_in_any_output_of_a_failed_night() {
    let dir = project();
    let site = dir.path().join("site");
    let first = darkroom(&["run", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert!(first.status.success(), "{}", stderr(&first));

    let file = site.join("darkroom.toml");
    let config = std::fs::read_to_string(&file).expect("config");
    let config = config
        .replace(
            "url = \"sqlite://production.db\"",
            &format!(
                "url = \"mysql://darkroom:{PRODUCTION_PASSWORD}@127.0.0.1:1/photosite\"\nconnect_timeout_seconds = 1"
            ),
        )
        .replace(
            "[email]\n",
            &format!(
                "[email]\nsmtp_url = \"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:1\"\nretries = 0\ntimeout_seconds = 2\n"
            ),
        )
        .replace(
            "# [slack]\n",
            &format!("[slack]\nwebhook_url = \"http://127.0.0.1:1/services/T0/B0/{SLACK_TOKEN}\"\n"),
        );
    let config = format!(
        "{config}\n[[subscriptions]]\ndashboard = \"pipeline\"\nto = [\"data@example.com\"]\nslack = true\ncron = \"0 8 * * 1\"\n"
    );
    std::fs::write(&file, config).expect("write config");

    let mut printed = Vec::new();
    let mut run_and_keep = |args: &[&str], env_log: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_darkroom"));
        command.args(args).current_dir(dir.path());
        if env_log {
            // Debug from the crates that hold a URL: drivers, mail, HTTP, and darkroom's own.
            command.env(
                "DARKROOM_LOG",
                "info,sqlx=debug,lettre=debug,reqwest=debug,hyper_util=debug,darkroom_delivery=debug,\
                 darkroom_sources=debug,darkroom_pipeline=debug",
            );
        } else {
            command.env_remove("DARKROOM_LOG");
        }
        let out = command.output().expect("run darkroom");
        printed.push((args.join(" "), stdout(&out), stderr(&out)));
        out
    };
    let night = run_and_keep(&["run", "--project", "site", "--date", "2015-02-10", "--verbose"], true);
    assert_eq!(night.status.code(), Some(1), "the snapshots fail: {}", stderr(&night));
    let said = format!("{}{}", stdout(&night), stderr(&night));
    assert!(said.contains("mysql://darkroom:***@127.0.0.1:1/photosite"), "{said}");
    // Regression: `darkroom run` sent no alert for a night that failed, only for failed audits.
    assert!(
        said.contains("alert for 2015-02-10 not sent"),
        "the alert was tried: {}",
        stdout(&night)
    );
    let send = run_and_keep(
        &[
            "send",
            "--project",
            "site",
            "--dashboard",
            "executive",
            "--to",
            "ceo@example.com",
        ],
        true,
    );
    assert_eq!(send.status.code(), Some(1), "SMTP refuses: {}", stderr(&send));
    run_and_keep(&["docs", "--project", "site"], false);
    let history = run_and_keep(
        &[
            "sql",
            "--project",
            "site",
            "--format",
            "csv",
            "SELECT * FROM etl_task_runs, etl_runs WHERE etl_runs.run_id = etl_task_runs.run_id",
        ],
        false,
    );
    assert!(stdout(&history).contains("snapshot_users"), "{}", stderr(&history));
    run_and_keep(&["dag", "--project", "site"], false);

    for (command, out, err) in &printed {
        for secret in SECRETS {
            assert!(!out.contains(secret), "`darkroom {command}` printed {secret}:\n{out}");
            assert!(!err.contains(secret), "`darkroom {command}` said {secret}:\n{err}");
        }
    }
    // The warehouse, the run history (state.db), each task's log, the dictionary, the outbox.
    assert_eq!(files_holding_secrets(&site), Vec::new());
}
