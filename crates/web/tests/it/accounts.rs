use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{App, Login, PASSWORD, site};

#[test]
fn health_needs_no_login_and_everything_else_does() {
    let site = site();
    let app = App::open(site.path());
    let anonymous = Login::default();
    let health = app.get("/healthz", &anonymous);
    assert_eq!((health.status, health.text().as_str()), (StatusCode::OK, "ok"));
    for page in ["/", "/d/executive", "/tearsheet", "/docs", "/sql", "/admin"] {
        let answer = app.get(page, &anonymous);
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{page}");
        assert!(answer.header("location").starts_with("/login?next="), "{page}");
    }
    for api in [
        "/api/dashboards",
        "/api/dashboards/executive",
        "/api/audits",
        "/charts/executive-dau.svg",
    ] {
        let answer = app.get(api, &anonymous);
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{api}");
        assert_eq!(answer.json()["error"], "log in first", "{api}");
        assert!(answer.json()["hint"].as_str().is_some_and(|h| h.contains("/login")));
    }
}

#[test]
fn a_login_gives_an_httponly_samesite_cookie_that_logout_ends() {
    let site = site();
    let app = App::open(site.path());
    let answer = app.post_json(
        "/api/login",
        &Login::default(),
        json!({"user": "vic", "password": PASSWORD}),
    );
    assert_eq!(answer.status, StatusCode::OK);
    let cookie = answer.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(cookie.contains(&format!("Max-Age={}", 14 * 24 * 3600)), "{cookie}");
    assert_eq!(answer.json()["role"], "viewer");
    let login = app.login("vic");
    assert_eq!(app.get("/api/dashboards", &login).status, StatusCode::OK);
    let out = app.send(Method::POST, "/api/logout", &login, None);
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/dashboards", &login).status,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
}

#[test]
fn wrong_passwords_are_refused_then_throttled() {
    let site = site();
    let app = App::open(site.path());
    let wrong = json!({"user": "vic", "password": "not the password"});
    for _ in 0..5 {
        let answer = app.post_json("/api/login", &Login::default(), wrong.clone());
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.json()["error"], "wrong user name or password");
    }
    let right = json!({"user": "vic", "password": PASSWORD});
    let answer = app.post_json("/api/login", &Login::default(), right);
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(
        answer.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("too many failed logins for vic"))
    );
    let unknown = app.post_json(
        "/api/login",
        &Login::default(),
        json!({"user": "nobody", "password": PASSWORD}),
    );
    assert_eq!(
        unknown.status,
        StatusCode::UNAUTHORIZED,
        "the same answer as a wrong password"
    );
    assert_eq!(unknown.json()["error"], "wrong user name or password");
}

#[test]
fn the_login_form_needs_its_csrf_token() {
    let site = site();
    let app = App::open(site.path());
    let page = app.get("/login?next=/d/product", &Login::default());
    assert_eq!(page.status, StatusCode::OK);
    let set = page.header("set-cookie");
    let token = set
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("token");
    assert!(
        page.text().contains(&format!("value=\"{token}\"")),
        "the form carries the token"
    );
    let form = |csrf: &str| {
        format!(
            "user=vic&password={}&csrf={csrf}&next=%2Fd%2Fproduct",
            PASSWORD.replace(' ', "+")
        )
    };
    let with_cookie = Login {
        cookie: Some(format!("darkroom_login_csrf={token}")),
        ..Login::default()
    };
    let forged = app.send(
        Method::POST,
        "/login",
        &with_cookie,
        Some(("application/x-www-form-urlencoded", form("forged"))),
    );
    assert!(forged.header("location").starts_with("/login?"), "{:?}", forged.headers);
    assert!(forged.header("set-cookie").is_empty(), "no session");
    let good = app.send(
        Method::POST,
        "/login",
        &with_cookie,
        Some(("application/x-www-form-urlencoded", form(&token))),
    );
    assert_eq!(good.header("location"), "/d/product");
    assert!(good.header("set-cookie").starts_with("darkroom_session="));
    let offsite = app.send(
        Method::POST,
        "/login",
        &with_cookie,
        Some((
            "application/x-www-form-urlencoded",
            form(&token).replace("%2Fd%2Fproduct", "%2F%2Fevil.example"),
        )),
    );
    assert_eq!(offsite.header("location"), "/", "never sent off the site");
}

#[test]
fn each_role_reaches_only_its_part() {
    let site = site();
    let app = App::open(site.path());
    let (viewer, editor, admin) = (app.login("vic"), app.login("eve"), app.login("ada"));
    let query = json!({"sql": "SELECT 1 AS one"});
    let denied = app.post_json("/api/query", &viewer, query.clone());
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json()["error"], "this needs the editor role; vic is a viewer");
    assert_eq!(
        app.post_json("/api/query", &editor, query.clone()).status,
        StatusCode::OK
    );
    for (who, page) in [(&viewer, "/sql"), (&viewer, "/admin"), (&editor, "/admin")] {
        let answer = app.get(page, who);
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{page}");
    }
    assert_eq!(app.get("/admin", &admin).status, StatusCode::OK);
    for who in [&viewer, &editor] {
        let share = app.post_json("/api/dashboards/executive/share", who, json!({}));
        assert_eq!(share.status, StatusCode::FORBIDDEN);
        let revoke = app.send(Method::DELETE, "/api/shares/abc", who, None);
        assert_eq!(revoke.status, StatusCode::FORBIDDEN);
    }
}

#[test]
fn a_cookie_session_must_send_its_csrf_token_and_a_bearer_token_need_not() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let no_token = Login {
        csrf: None,
        ..editor.clone()
    };
    let answer = app.post_json("/api/query", &no_token, json!({"sql": "SELECT 1"}));
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["error"], "the form's CSRF token is missing or wrong");
    let accounts = darkroom_web::Accounts::open(&site.path().join("state.db")).expect("accounts");
    let script = Login {
        bearer: Some(accounts.new_token("eve").expect("token")),
        ..Login::default()
    };
    let answer = app.post_json("/api/query", &script, json!({"sql": "SELECT 41 + 1 AS answer"}));
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["rows"], json!([[42]]));
    let forged = Login {
        bearer: Some("0".repeat(64)),
        ..Login::default()
    };
    assert_eq!(app.get("/api/dashboards", &forged).status, StatusCode::UNAUTHORIZED);
}

#[test]
fn shares_show_one_dashboard_until_revoked() {
    let site = site();
    let app = App::open(site.path());
    let admin = app.login("ada");
    let shared = app.post_json("/api/dashboards/product/share", &admin, json!({}));
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.text());
    let token = shared.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 64, "256 random bits");
    let url = shared.json()["url"].as_str().expect("url").to_owned();
    assert!(url.ends_with(&format!("/s/{token}")), "{url}");
    let anonymous = Login::default();
    let page = app.get(&format!("/s/{token}"), &anonymous);
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("<h1>Product</h1>"));
    assert!(
        !page.text().contains("FROM daily_metrics"),
        "a share link shows rows, not SQL"
    );
    let own = app.get(&format!("/s/{token}/charts/product-uploads.csv"), &anonymous);
    assert_eq!(own.status, StatusCode::OK);
    let other = app.get(&format!("/s/{token}/charts/executive-dau.csv"), &anonymous);
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "only the shared dashboard's charts"
    );
    let revoked = app.send(Method::DELETE, &format!("/api/shares/{token}"), &admin, None);
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/s/{token}"), &anonymous).status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/s/{token}/charts/product-uploads.csv"), &anonymous)
            .status,
        StatusCode::NOT_FOUND
    );
    let expired = app.post_json("/api/dashboards/product/share", &admin, json!({"expires_in_days": 0}));
    let token = expired.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(
        app.get(&format!("/s/{token}"), &anonymous).status,
        StatusCode::NOT_FOUND
    );
}
