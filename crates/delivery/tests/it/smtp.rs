//! Mail through a real SMTP server on loopback (aiosmtpd, which the test
//! script installs): STARTTLS with a login, TLS from the start, a refused
//! login, and a server that is not there.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use darkroom_delivery::{Attachment, Recipients, mailbox};
use mail_parser::{MessageParser, MimeHeaders as _};

use crate::support::{assert_drawn_png, configure, delivery_for, mails_in, runtime, site};

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp/server.py");

/// An aiosmtpd server; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    inbox: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A certificate for 127.0.0.1 and localhost, signed by itself: (cert, key) PEM files.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("a certificate");
    let cert_path = dir.join("smtp-cert.pem");
    let key_path = dir.join("smtp-key.pem");
    std::fs::write(&cert_path, key.cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.signing_key.serialize_pem()).expect("write key");
    (cert_path, key_path)
}

/// A server with a certificate for loopback (written into `site` for `ca_file`), and `more` arguments.
fn start_tls(site: &Path, more: &[&str]) -> SmtpServer {
    let (cert, key) = certificate(site);
    let mut args = vec![
        "--cert".to_owned(),
        cert.display().to_string(),
        "--key".to_owned(),
        key.display().to_string(),
    ];
    args.extend(more.iter().map(|a| (*a).to_owned()));
    start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn start(args: &[&str]) -> SmtpServer {
    let inbox = tempfile::tempdir().expect("inbox");
    let port = free_port();
    let mut child = Command::new("python3")
        .arg(SERVER)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(inbox.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs the SMTP test server (scripts/test installs aiosmtpd)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server says it is ready");
    assert_eq!(
        line.trim(),
        format!("ready {port}"),
        "the SMTP test server did not start: is aiosmtpd installed (python3 -m pip install aiosmtpd)?"
    );
    SmtpServer { child, port, inbox }
}

fn send_to_pipeline_owner(site: &Path) -> Result<darkroom_delivery::Delivered, darkroom_delivery::DeliveryError> {
    let (deliverer, _) = delivery_for(site);
    let recipients = Recipients {
        to: vec![mailbox("Ops <ops@example.com>").expect("address")],
        slack: false,
    };
    runtime().block_on(deliverer.deliver("pipeline", &recipients, &[Attachment::Csv], None))
}

/// The one message the server took, and what it said of the session.
fn taken(server: &SmtpServer) -> (Vec<u8>, serde_json::Value) {
    let mails = mails_in(server.inbox.path());
    assert_eq!(mails.len(), 1, "one mail taken");
    let session = std::fs::read_to_string(mails[0].with_extension("json")).expect("session");
    (
        std::fs::read(&mails[0]).expect("mail"),
        serde_json::from_str(&session).expect("json"),
    )
}

#[test]
fn mail_goes_through_starttls_with_a_login() {
    let site = site();
    let server = start_tls(site.path(), &["--user", "darkroom", "--password", "p@ss word"]);
    configure(
        site.path(),
        &format!(
            "[email]\nsmtp_url = \"smtp://darkroom:p%40ss%20word@127.0.0.1:{}\"\nfrom = \"Darkroom <reports@example.com>\"\nca_file = \"smtp-cert.pem\"\n",
            server.port
        ),
    );
    let delivered = send_to_pipeline_owner(site.path()).expect("sent");
    assert!(
        delivered
            .to_string()
            .contains(&format!("through smtp://darkroom@127.0.0.1:{}", server.port)),
        "{delivered}"
    );
    let (bytes, session) = taken(&server);
    assert_eq!(session["tls"], true, "STARTTLS was used");
    assert_eq!(session["authenticated"], true);
    assert_eq!(session["from"], "reports@example.com");
    assert_eq!(session["to"], serde_json::json!(["ops@example.com"]));
    let message = MessageParser::default().parse(&bytes).expect("a mail");
    assert!(
        message.subject().is_some_and(|s| s.starts_with("Pipeline: ")),
        "{:?}",
        message.subject()
    );
    let image = message
        .parts
        .iter()
        .find(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
        .expect("a chart image");
    assert_drawn_png(image.contents(), "the first chart");
    assert!(
        message
            .attachments()
            .any(|a| a.attachment_name() == Some("pipeline-runs.csv"))
    );
    assert!(
        mails_in(&site.path().join("outbox")).is_empty(),
        "nothing left in the outbox"
    );
}

#[test]
fn mail_goes_through_tls_from_the_start() {
    let site = site();
    let server = start_tls(site.path(), &["--implicit-tls"]);
    configure(
        site.path(),
        &format!(
            "[email]\nsmtp_url = \"smtps://127.0.0.1:{}\"\nca_file = \"smtp-cert.pem\"\n",
            server.port
        ),
    );
    send_to_pipeline_owner(site.path()).expect("sent");
    let (_, session) = taken(&server);
    assert_eq!(session["tls"], true);
}

#[test]
fn a_refused_login_fails_at_once_without_showing_the_password() {
    let site = site();
    let server = start_tls(site.path(), &["--user", "darkroom", "--password", "right"]);
    configure(
        site.path(),
        &format!(
            "[email]\nsmtp_url = \"smtp://darkroom:wrong-secret@127.0.0.1:{}\"\nca_file = \"smtp-cert.pem\"\nfirst_retry_seconds = 20\nretries = 1\n",
            server.port
        ),
    );
    let started = std::time::Instant::now();
    let error = send_to_pipeline_owner(site.path()).expect_err("the login is refused");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "the SMTP server smtp://darkroom@127.0.0.1:{} did not take the mail: ",
            server.port
        )),
        "{message}"
    );
    assert!(message.contains("535"), "the server's answer: {message}");
    assert!(!message.contains("wrong-secret") && !error.hint().contains("wrong-secret"));
    assert!(started.elapsed().as_secs() < 15, "a permanent refusal is not retried");
    assert!(mails_in(server.inbox.path()).is_empty());
}

#[test]
fn a_server_that_is_not_there_is_retried_then_named() {
    let site = site();
    let port = free_port();
    configure(
        site.path(),
        &format!(
            "[email]\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nretries = 2\nfirst_retry_seconds = 0\ntimeout_seconds = 2\n"
        ),
    );
    let error = send_to_pipeline_owner(site.path()).expect_err("no server");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "the SMTP server smtp://127.0.0.1:{port} did not take the mail: "
        )),
        "{message}"
    );
    assert!(message.ends_with("(after 3 tries)"), "{message}");
    assert!(error.hint().contains("smtp_url"), "{}", error.hint());
}
