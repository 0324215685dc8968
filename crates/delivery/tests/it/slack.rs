//! Slack posts taken by a webhook on loopback that records what it is sent.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use darkroom_delivery::Recipients;
use serde_json::Value;

use crate::support::{configure, delivery_for, runtime, site};

type Taken = Arc<Mutex<Vec<Value>>>;

/// A webhook that answers `statuses` in turn (then 200) and keeps each payload.
fn webhook(runtime: &tokio::runtime::Runtime, statuses: Vec<u16>) -> (String, Taken) {
    let taken: Taken = Arc::default();
    let answers = Arc::new(Mutex::new(statuses));
    let state = (Arc::clone(&taken), answers);
    let app = axum::Router::new()
        .route(
            "/services/T0/B0/secret",
            post(
                |State((taken, answers)): State<(Taken, Arc<Mutex<Vec<u16>>>)>, Json(body): Json<Value>| async move {
                    taken.lock().expect("lock").push(body);
                    let mut answers = answers.lock().expect("lock");
                    let status = if answers.is_empty() { 200 } else { answers.remove(0) };
                    StatusCode::from_u16(status).expect("status")
                },
            ),
        )
        .with_state(state);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    runtime.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/services/T0/B0/secret"), taken)
}

#[test]
fn a_slack_post_has_the_headline_numbers_a_link_and_each_chart_as_a_shared_png() {
    let site = site();
    let runtime = runtime();
    let (url, taken) = webhook(&runtime, vec![503]);
    configure(
        site.path(),
        &format!(
            "[slack]\nwebhook_url = \"{url}\"\n\n[web]\npublic_url = \"https://darkroom.example.com/\"\n\n\
             [email]\nfirst_retry_seconds = 0\n"
        ),
    );
    let (deliverer, shares) = delivery_for(site.path());
    let recipients = Recipients {
        to: Vec::new(),
        slack: true,
    };
    let delivered = runtime
        .block_on(deliverer.deliver("executive", &recipients, &[], None))
        .expect("posted after one retry");
    assert!(delivered.slack && delivered.email.is_none());
    let taken = taken.lock().expect("lock");
    assert_eq!(taken.len(), 2, "a 503 is tried again");
    let payload = &taken[1];
    assert_eq!(
        shares.0.lock().expect("lock").as_slice(),
        [("executive".to_owned(), 30)]
    );
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert!(
        blocks[0]["text"]["text"]
            .as_str()
            .expect("title")
            .starts_with("Executive: the numbers to ")
    );
    let images: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "image")
        .filter_map(|b| b["image_url"].as_str())
        .collect();
    let dashboard = darkroom_dashboards::Dashboard::load(&site.path().join("dashboards/executive.toml")).expect("file");
    let expected: Vec<String> = dashboard
        .charts
        .iter()
        .map(|c| format!("https://darkroom.example.com/s/token1/charts/{}.png", c.id))
        .collect();
    assert_eq!(images, expected);
    let headlines = blocks[1]["text"]["text"].as_str().expect("headline numbers");
    assert!(headlines.contains("*Daily active users against plan*: "), "{headlines}");
    assert!(
        payload["text"]
            .as_str()
            .expect("fallback text")
            .ends_with("https://darkroom.example.com/d/executive"),
        "{payload}"
    );
}

#[test]
fn a_webhook_that_refuses_is_an_error_without_its_secret() {
    let site = site();
    let runtime = runtime();
    let (url, _) = webhook(&runtime, vec![404]);
    configure(site.path(), &format!("[slack]\nwebhook_url = \"{url}\"\n"));
    let (deliverer, _) = delivery_for(site.path());
    let error = runtime
        .block_on(deliverer.deliver(
            "web",
            &Recipients {
                to: Vec::new(),
                slack: true,
            },
            &[],
            None,
        ))
        .expect_err("refused");
    let message = error.to_string();
    assert!(message.starts_with("the Slack webhook http://127.0.0.1:"), "{message}");
    assert!(
        message.contains("/… did not take the post: it answered 404 Not Found"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}
