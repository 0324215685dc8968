//! Who is asking: a session cookie or an API token, their role, and the CSRF
//! check on everything that changes state.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::accounts::{Role, Session, User};
use crate::error::WebError;

pub const SESSION_COOKIE: &str = "darkroom_session";
/// The login form's double-submit token, before there is a session.
pub const LOGIN_CSRF_COOKIE: &str = "darkroom_login_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Failed logins in a row before a name is refused for a while.
const FAILURES_BEFORE_PAUSE: u32 = 5;
const PAUSE: Duration = Duration::from_secs(30);

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A session cookie: HttpOnly, SameSite=Lax, for 14 days unless ended.
pub fn session_cookie(id: &str) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        crate::accounts::SESSION_IDLE.as_secs()
    )
}

pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// How the request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    Session { id: String, csrf: String },
    Token,
}

/// A request from a logged-in user (cookie) or a script (bearer token).
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub credential: Credential,
}

impl Authed {
    pub fn require(&self, role: Role) -> Result<(), WebError> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(WebError::Forbidden {
                user: self.user.name.clone(),
                has: self.user.role.name(),
                needed: role.name(),
            })
        }
    }

    /// A state-changing call: a session must send its CSRF token (header or
    /// form field); a bearer token is not sent by browsers on their own.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), WebError> {
        match &self.credential {
            Credential::Token => Ok(()),
            Credential::Session { csrf, .. } if sent.is_some_and(|s| constant_time_eq(s, csrf)) => Ok(()),
            Credential::Session { .. } => Err(WebError::Csrf),
        }
    }

    /// A JSON call that changes something: `role` or above, and the CSRF
    /// token in its header.
    pub fn check_change(&self, role: Role, headers: &HeaderMap) -> Result<(), WebError> {
        self.require(role)?;
        self.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }

    pub fn csrf(&self) -> &str {
        match &self.credential {
            Credential::Session { csrf, .. } => csrf,
            Credential::Token => "",
        }
    }
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Authed>, WebError> {
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let token = value.strip_prefix("Bearer ").ok_or(WebError::NotLoggedIn)?;
        return Ok(state.accounts.token_user(token.trim())?.map(|user| Authed {
            user,
            credential: Credential::Token,
        }));
    }
    let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.accounts.session(&id)?.map(|Session { user, csrf }| Authed {
        user,
        credential: Credential::Session { id, csrf },
    }))
}

/// For `/api/*`: 401 without a login.
impl FromRequestParts<AppState> for Authed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await?.ok_or(WebError::NotLoggedIn)
    }
}

/// For pages: a redirect to `/login` without a login.
#[derive(Debug, Clone)]
pub struct PageUser(pub Authed);

#[derive(Debug)]
pub enum PageRejection {
    Login(Uri),
    Failed(WebError),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Login(uri) => {
                let next = uri.path_and_query().map_or("/", |p| p.as_str());
                let encoded: String = url_encode(next);
                Redirect::to(&format!("/login?next={encoded}")).into_response()
            }
            Self::Failed(error) => crate::pages::error_page(&error).into_response(),
        }
    }
}

pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await {
            Ok(Some(authed)) => Ok(Self(authed)),
            Ok(None) | Err(WebError::NotLoggedIn) => Err(PageRejection::Login(parts.uri.clone())),
            Err(other) => Err(PageRejection::Failed(other)),
        }
    }
}

/// Failed logins per user name: after five in a row, the name is refused for
/// 30 seconds, whatever the password, so guessing is slow.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Option<Instant>)>>,
}

impl Throttle {
    pub fn check(&self, user: &str) -> Result<(), WebError> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, Some(until))) = failures.get(user)
            && let Some(left) = until.checked_duration_since(Instant::now())
        {
            return Err(WebError::Throttled {
                user: user.to_owned(),
                seconds: left.as_secs() + 1,
            });
        }
        Ok(())
    }

    pub fn failed(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = failures.entry(user.to_owned()).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= FAILURES_BEFORE_PAUSE {
            *entry = (0, Some(Instant::now() + PAUSE));
        }
    }

    pub fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(user);
    }
}
