//! The morning email, read back from the outbox as a mail client would.

use darkroom_delivery::{Attachment, Recipients, mailbox};
use mail_parser::{MessageParser, MimeHeaders as _, PartType};

use crate::support::{LAST_DAY, assert_drawn_png, configure, delivery_for, mails_in, runtime, site, truth};

fn to(address: &str) -> Recipients {
    Recipients {
        to: vec![mailbox(address).expect("address")],
        slack: false,
    }
}

#[test]
fn the_executive_email_has_every_chart_as_a_drawn_png_with_its_definition_and_the_rows_attached() {
    let site = site();
    let (deliverer, _) = delivery_for(site.path());
    let last_day = chrono::NaiveDate::parse_from_str(LAST_DAY, "%Y-%m-%d").expect("day");
    let delivered = runtime()
        .block_on(deliverer.deliver("executive", &to("ceo@example.com"), &[Attachment::Csv], Some(last_day)))
        .expect("delivered");
    assert!(!delivered.not_updated);
    let mails = mails_in(&site.path().join("outbox"));
    assert_eq!(mails.len(), 1, "one .eml in the outbox");
    let bytes = std::fs::read(&mails[0]).expect("read mail");
    let message = MessageParser::default().parse(&bytes).expect("a mail");
    assert_eq!(message.subject(), Some("Executive: the numbers to Tue 10 Feb 2015"));
    assert_eq!(
        message.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("ceo@example.com")
    );

    let dashboard = darkroom_dashboards::Dashboard::load(&site.path().join("dashboards/executive.toml")).expect("file");
    let html = message.body_html(0).expect("an HTML part").into_owned();
    let text = message.body_text(0).expect("a plain-text part").into_owned();
    let mut images = 0;
    for part in &message.parts {
        if part.content_type().is_some_and(|c| c.ctype() == "image") {
            let id = part.content_id().expect("an inline image has a Content-ID").to_owned();
            let (PartType::Binary(body) | PartType::InlineBinary(body)) = &part.body else {
                panic!("{id} is not binary");
            };
            let width = assert_drawn_png(body, &id);
            assert_eq!(width, 1280, "{id}: 640 units at twice the scale");
            assert!(html.contains(&format!("cid:{id}")), "the HTML shows {id}");
            images += 1;
        }
    }
    assert_eq!(
        images,
        dashboard.charts.len(),
        "one image per chart of the dashboard file"
    );
    for chart in &dashboard.charts {
        assert!(text.contains(&chart.title), "the text part names {}", chart.title);
        assert!(
            html.contains(&format!("/d/executive#chart-{}", chart.id)),
            "a link to {}",
            chart.id
        );
    }
    // A metric's chart says what the metric is and who owns it (from metrics.toml).
    let catalog = std::fs::read_to_string(site.path().join("metrics.toml")).expect("catalog");
    let dau_definition = catalog
        .split("name = \"dau\"")
        .nth(1)
        .and_then(|rest| rest.split("definition = \"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("dau's definition");
    assert!(text.contains(dau_definition), "{dau_definition}");
    assert!(html.contains("owner: "), "owners shown");
    assert!(html.contains("Latest audits: "), "audit status shown");

    // The DAU chart's attached rows are the simulator's truth (all days but the last).
    let csv = message
        .attachments()
        .find(|a| a.attachment_name() == Some("executive-dau.csv"))
        .expect("executive-dau.csv attached");
    let truth = truth(site.path(), "dau");
    let mut checked = 0;
    for line in std::str::from_utf8(csv.contents()).expect("text").lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields[0] == LAST_DAY {
            continue;
        }
        let actual: f64 = fields[1].parse().expect("a number");
        assert_eq!(Some(&actual), truth.get(fields[0]), "{line}");
        checked += 1;
    }
    assert!(checked >= 7, "{checked} days checked");
}

#[test]
fn the_tearsheet_goes_out_as_html_with_its_spreadsheet() {
    let site = site();
    let (deliverer, _) = delivery_for(site.path());
    runtime()
        .block_on(deliverer.deliver("tearsheet", &to("board@example.com"), &[Attachment::Xlsx], None))
        .expect("delivered");
    let bytes = std::fs::read(&mails_in(&site.path().join("outbox"))[0]).expect("read mail");
    let message = MessageParser::default().parse(&bytes).expect("a mail");
    assert!(
        message
            .subject()
            .is_some_and(|s| s.contains("tearsheet") || s.contains("Tearsheet")),
        "{:?}",
        message.subject()
    );
    assert!(message.body_html(0).expect("html").contains("<table"));
    let xlsx = message
        .attachments()
        .find(|a| a.attachment_name() == Some("tearsheet.xlsx"))
        .expect("the spreadsheet");
    assert!(xlsx.contents().starts_with(b"PK"), "an XLSX is a zip");
}

#[test]
fn a_failed_night_sends_a_notice_naming_the_task_instead_of_stale_numbers() {
    let site = site();
    std::fs::write(
        site.path().join("models/broken.sql"),
        "SELECT nosuchcolumn FROM raw_events\n",
    )
    .expect("model");
    let project = darkroom_pipeline::Project::load(site.path()).expect("project");
    let day = darkroom_pipeline::parse_day("2015-02-11").expect("day");
    let runtime = runtime();
    let failed = runtime
        .block_on(darkroom_pipeline::run_range(
            &project,
            day,
            day,
            darkroom_pipeline::RunOptions { force: false },
            |_| {},
        ))
        .expect_err("the night fails");
    assert!(failed.to_string().contains("broken"), "{failed}");
    let (deliverer, _) = delivery_for(site.path());
    let expected = chrono::NaiveDate::parse_from_str("2015-02-11", "%Y-%m-%d").expect("day");
    let delivered = runtime
        .block_on(deliverer.deliver("executive", &to("ceo@example.com"), &[Attachment::Csv], Some(expected)))
        .expect("the notice is sent");
    assert!(delivered.not_updated);
    let bytes = std::fs::read(&mails_in(&site.path().join("outbox"))[0]).expect("read mail");
    let message = MessageParser::default().parse(&bytes).expect("a mail");
    assert_eq!(
        message.subject(),
        Some("Executive: not updated, the night of 2015-02-11 failed")
    );
    let text = message.body_text(0).expect("text").replace("\r\n", "\n");
    assert!(text.contains("These numbers were not updated."), "{text}");
    assert!(
        text.contains("Failed: broken\n") && text.contains("nosuchcolumn"),
        "{text}"
    );
    assert!(
        text.contains("darkroom run --project ") && text.contains("--date 2015-02-11"),
        "{text}"
    );
    assert_eq!(message.attachments().count(), 0, "no stale numbers attached");
    assert!(
        !message
            .parts
            .iter()
            .any(|p| p.content_type().is_some_and(|c| c.ctype() == "image")),
        "no charts"
    );

    // The Pipeline subscribers are alerted with the same facts.
    configure(
        site.path(),
        "[[subscriptions]]\ndashboard = \"pipeline\"\nto = [\"oncall@example.com\"]\ncron = \"0 7 * * *\"\n",
    );
    let (deliverer, _) = delivery_for(site.path());
    let alert = runtime
        .block_on(darkroom_delivery::alert_after_night(&deliverer, expected))
        .expect("alerted")
        .expect("there was something to say");
    assert!(
        alert.subject.contains("2015-02-11") && alert.subject.contains("failed"),
        "{}",
        alert.subject
    );
    assert_eq!(mails_in(&site.path().join("outbox")).len(), 2);
}

#[test]
fn a_chart_that_does_not_plan_fails_the_send_naming_it_and_sends_nothing() {
    let site = site();
    let path = site.path().join("dashboards/web.toml");
    let text = std::fs::read_to_string(&path).expect("file");
    std::fs::write(
        &path,
        text.replacen(
            "SELECT date, value FROM daily_metrics",
            "SELECT date, value FROM no_such_table",
            1,
        ),
    )
    .expect("write");
    let (deliverer, _) = delivery_for(site.path());
    let error = runtime()
        .block_on(deliverer.deliver("web", &to("web@example.com"), &[], None))
        .expect_err("a chart that does not plan");
    let message = error.to_string();
    assert!(message.starts_with("dashboard \"web\", chart \""), "{message}");
    assert!(message.contains("no_such_table"), "{message}");
    assert!(mails_in(&site.path().join("outbox")).is_empty(), "nothing sent");
}
