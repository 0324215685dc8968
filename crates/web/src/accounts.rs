//! Users, sessions, API tokens and share links, in the project's state database.
//!
//! Passwords are kept as argon2id hashes. Session ids, API tokens and share
//! tokens are random 256-bit values shown once; only their BLAKE2b hashes are
//! stored, so a copy of the database lets no one in.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use blake2::{Blake2b512, Digest};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::WebError;

/// A session ends after this long unused (web.md).
pub const SESSION_IDLE: Duration = Duration::from_secs(14 * 24 * 3600);
/// A session's last use is written at most this often, not on every request.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Shortest password `user add` and `user passwd` accept.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Result<Self, WebError> {
        match text {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            "admin" => Ok(Self::Admin),
            other => Err(WebError::BadRole { role: other.to_owned() }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// A logged-in browser: its user and the CSRF token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub dashboard: String,
    pub created_by: String,
}

/// A share link as the admin page lists it. `id` is the token's hash: it
/// names the link (to revoke it) but does not open it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShareLink {
    pub id: String,
    pub dashboard: String,
    pub created_by: String,
    pub created: i64,
    pub expires: Option<i64>,
}

#[derive(Debug)]
pub struct Accounts {
    db: Mutex<Connection>,
}

pub fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A new random token: 32 bytes from the operating system, as hex.
pub fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::Random { message: e.to_string() })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn digest(token: &str) -> String {
    Blake2b512::digest(token.as_bytes())
        .iter()
        .take(32)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

impl Accounts {
    /// The accounts of the project whose state database is `state_db`.
    pub fn open(state_db: &Path) -> Result<Self, WebError> {
        let db = Connection::open(state_db).map_err(|e| WebError::state(state_db, &e))?;
        db.busy_timeout(Duration::from_secs(10))
            .map_err(|e| WebError::state(state_db, &e))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS web_users (
                 name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS web_sessions (
                 id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
                 created INTEGER NOT NULL, last_used INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS web_tokens (
                 token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, created INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS web_shares (
                 token_hash TEXT PRIMARY KEY, dashboard TEXT NOT NULL, created_by TEXT NOT NULL,
                 created INTEGER NOT NULL, expires INTEGER, revoked INTEGER);",
        )
        .map_err(|e| WebError::state(state_db, &e))?;
        // Added for the Postgres endpoint; an older state.db gains it here.
        let has_verifier: bool = db
            .query_row(
                "SELECT count(*) FROM pragma_table_info('web_users') WHERE name = 'scram_verifier'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| WebError::state(state_db, &e))?;
        if !has_verifier {
            db.execute_batch("ALTER TABLE web_users ADD COLUMN scram_verifier TEXT")
                .map_err(|e| WebError::state(state_db, &e))?;
        }
        Ok(Self { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), WebError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)) {
            return Err(WebError::BadUserName { name: name.to_owned() });
        }
        let hash = hash_password(password)?;
        let added = self
            .db()
            .execute(
                "INSERT INTO web_users (name, role, password_hash, created, scram_verifier) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO NOTHING",
                params![name, role.name(), hash, now_seconds(), scram_verifier(password)],
            )
            .map_err(WebError::sql)?;
        if added == 0 {
            return Err(WebError::UserExists { name: name.to_owned() });
        }
        Ok(())
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<(), WebError> {
        let hash = hash_password(password)?;
        let db = self.db();
        let changed = db
            .execute(
                "UPDATE web_users SET password_hash = ?2, scram_verifier = ?3 WHERE name = ?1",
                params![name, hash, scram_verifier(password)],
            )
            .map_err(WebError::sql)?;
        if changed == 0 {
            return Err(WebError::NoSuchUser { name: name.to_owned() });
        }
        // A new password ends every session the old one opened.
        db.execute("DELETE FROM web_sessions WHERE user = ?1", params![name])
            .map_err(WebError::sql)?;
        Ok(())
    }

    pub fn set_role(&self, name: &str, role: Role) -> Result<(), WebError> {
        let changed = self
            .db()
            .execute(
                "UPDATE web_users SET role = ?2 WHERE name = ?1",
                params![name, role.name()],
            )
            .map_err(WebError::sql)?;
        if changed == 0 {
            return Err(WebError::NoSuchUser { name: name.to_owned() });
        }
        Ok(())
    }

    /// Removes the user with their sessions and tokens.
    pub fn remove_user(&self, name: &str) -> Result<(), WebError> {
        let db = self.db();
        let changed = db
            .execute("DELETE FROM web_users WHERE name = ?1", params![name])
            .map_err(WebError::sql)?;
        if changed == 0 {
            return Err(WebError::NoSuchUser { name: name.to_owned() });
        }
        db.execute("DELETE FROM web_sessions WHERE user = ?1", params![name])
            .map_err(WebError::sql)?;
        db.execute("DELETE FROM web_tokens WHERE user = ?1", params![name])
            .map_err(WebError::sql)?;
        Ok(())
    }

    pub fn users(&self) -> Result<Vec<User>, WebError> {
        let db = self.db();
        let mut statement = db
            .prepare("SELECT name, role FROM web_users ORDER BY name")
            .map_err(WebError::sql)?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(WebError::sql)?;
        let mut users = Vec::new();
        for row in rows {
            let (name, role) = row.map_err(WebError::sql)?;
            users.push(User {
                name,
                role: Role::parse(&role)?,
            });
        }
        Ok(users)
    }

    fn user(&self, name: &str) -> Result<Option<(User, String)>, WebError> {
        let found: Option<(String, String)> = self
            .db()
            .query_row(
                "SELECT role, password_hash FROM web_users WHERE name = ?1",
                params![name],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(WebError::sql)?;
        found
            .map(|(role, hash)| {
                Ok((
                    User {
                        name: name.to_owned(),
                        role: Role::parse(&role)?,
                    },
                    hash,
                ))
            })
            .transpose()
    }

    /// The user, if `password` is theirs. Unknown users cost the same hash as
    /// known ones, so timing does not tell which names exist.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Option<User>, WebError> {
        let found = self.user(name)?;
        let stored = found.as_ref().map(|(_, hash)| hash.clone());
        let hash_text = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&hash_text).map_err(|e| WebError::Hash { message: e.to_string() })?;
        let matches = argon2id().verify_password(password.as_bytes(), &parsed).is_ok();
        let user = found.filter(|_| matches).map(|(user, _)| user);
        if let Some(user) = &user {
            // An account made before the Postgres endpoint gets its verifier
            // the first time its password is seen.
            self.db()
                .execute(
                    "UPDATE web_users SET scram_verifier = ?2 WHERE name = ?1 AND scram_verifier IS NULL",
                    params![user.name, scram_verifier(password)],
                )
                .map_err(WebError::sql)?;
        }
        Ok(user)
    }

    /// The user's SCRAM-SHA-256 verifier for the Postgres endpoint, in
    /// PostgreSQL's own `pg_authid` format: it checks a password without
    /// holding it or anything a client could log in with.
    pub fn scram_verifier_of(&self, name: &str) -> Result<PasswordState, WebError> {
        let found: Option<Option<String>> = self
            .db()
            .query_row(
                "SELECT scram_verifier FROM web_users WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()
            .map_err(WebError::sql)?;
        Ok(match found {
            None => PasswordState::NoSuchUser,
            Some(None) => PasswordState::NoVerifier,
            Some(Some(verifier)) => PasswordState::Verifier(verifier),
        })
    }

    /// A new session for `user`: the cookie value to hand the browser.
    pub fn start_session(&self, user: &User) -> Result<(String, Session), WebError> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = now_seconds();
        self.db()
            .execute(
                "INSERT INTO web_sessions (id_hash, user, csrf, created, last_used) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![digest(&id), user.name, csrf, now],
            )
            .map_err(WebError::sql)?;
        Ok((
            id,
            Session {
                user: user.clone(),
                csrf,
            },
        ))
    }

    /// The live session with cookie value `id`; one unused for 14 days is ended.
    pub fn session(&self, id: &str) -> Result<Option<Session>, WebError> {
        let now = now_seconds();
        let db = self.db();
        let found: Option<(String, String, String, i64)> = db
            .query_row(
                "SELECT s.user, s.csrf, u.role, s.last_used FROM web_sessions s
                 JOIN web_users u ON u.name = s.user WHERE s.id_hash = ?1",
                params![digest(id)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .map_err(WebError::sql)?;
        let Some((name, csrf, role, last_used)) = found else {
            return Ok(None);
        };
        let idle = now.saturating_sub(last_used);
        if idle > SESSION_IDLE.as_secs() as i64 {
            db.execute("DELETE FROM web_sessions WHERE id_hash = ?1", params![digest(id)])
                .map_err(WebError::sql)?;
            return Ok(None);
        }
        if idle > TOUCH_EVERY.as_secs() as i64 {
            db.execute(
                "UPDATE web_sessions SET last_used = ?2 WHERE id_hash = ?1",
                params![digest(id), now],
            )
            .map_err(WebError::sql)?;
        }
        Ok(Some(Session {
            user: User {
                name,
                role: Role::parse(&role)?,
            },
            csrf,
        }))
    }

    pub fn end_session(&self, id: &str) -> Result<(), WebError> {
        self.db()
            .execute("DELETE FROM web_sessions WHERE id_hash = ?1", params![digest(id)])
            .map_err(WebError::sql)?;
        Ok(())
    }

    /// Moves a session's last use back in time: how tests see the idle limit work.
    pub fn age_session(&self, id: &str, by: Duration) -> Result<(), WebError> {
        self.db()
            .execute(
                "UPDATE web_sessions SET last_used = last_used - ?2 WHERE id_hash = ?1",
                params![digest(id), by.as_secs() as i64],
            )
            .map_err(WebError::sql)?;
        Ok(())
    }

    /// A new API token for `name`, shown once.
    pub fn new_token(&self, name: &str) -> Result<String, WebError> {
        if self.user(name)?.is_none() {
            return Err(WebError::NoSuchUser { name: name.to_owned() });
        }
        let token = random_token()?;
        self.db()
            .execute(
                "INSERT INTO web_tokens (token_hash, user, created) VALUES (?1, ?2, ?3)",
                params![digest(&token), name, now_seconds()],
            )
            .map_err(WebError::sql)?;
        Ok(token)
    }

    pub fn token_user(&self, token: &str) -> Result<Option<User>, WebError> {
        let name: Option<String> = self
            .db()
            .query_row(
                "SELECT user FROM web_tokens WHERE token_hash = ?1",
                params![digest(token)],
                |row| row.get(0),
            )
            .optional()
            .map_err(WebError::sql)?;
        match name {
            Some(name) => Ok(self.user(&name)?.map(|(user, _)| user)),
            None => Ok(None),
        }
    }

    /// A new share link's token for `dashboard`, valid until `expires` (unix seconds) if given.
    pub fn new_share(&self, dashboard: &str, by: &User, expires: Option<i64>) -> Result<String, WebError> {
        let token = random_token()?;
        self.db()
            .execute(
                "INSERT INTO web_shares (token_hash, dashboard, created_by, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![digest(&token), dashboard, by.name, now_seconds(), expires],
            )
            .map_err(WebError::sql)?;
        Ok(token)
    }

    /// The share with `token`, unless revoked or expired.
    pub fn share(&self, token: &str) -> Result<Option<Share>, WebError> {
        let found: Option<(String, String, Option<i64>, Option<i64>)> = self
            .db()
            .query_row(
                "SELECT dashboard, created_by, expires, revoked FROM web_shares WHERE token_hash = ?1",
                params![digest(token)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .map_err(WebError::sql)?;
        Ok(found.and_then(|(dashboard, created_by, expires, revoked)| {
            let live = revoked.is_none() && expires.is_none_or(|e| e > now_seconds());
            live.then_some(Share { dashboard, created_by })
        }))
    }

    /// Revokes the share with `token`; false when there is none.
    pub fn revoke_share(&self, token: &str) -> Result<bool, WebError> {
        self.revoke_share_id(&digest(token))
    }
}

impl Accounts {
    /// The share links that still open, newest first; of one dashboard with `dashboard`.
    pub fn live_shares(&self, dashboard: Option<&str>) -> Result<Vec<ShareLink>, WebError> {
        let db = self.db();
        let mut statement = db
            .prepare(
                "SELECT token_hash, dashboard, created_by, created, expires FROM web_shares
                 WHERE revoked IS NULL AND (expires IS NULL OR expires > ?1) AND (?2 IS NULL OR dashboard = ?2)
                 ORDER BY created DESC, token_hash",
            )
            .map_err(WebError::sql)?;
        let rows = statement
            .query_map(params![now_seconds(), dashboard], |row| {
                Ok(ShareLink {
                    id: row.get(0)?,
                    dashboard: row.get(1)?,
                    created_by: row.get(2)?,
                    created: row.get(3)?,
                    expires: row.get(4)?,
                })
            })
            .map_err(WebError::sql)?;
        rows.collect::<Result<_, _>>().map_err(WebError::sql)
    }

    /// Revokes the share link `id` (see [`ShareLink`]); false when there is none.
    pub fn revoke_share_id(&self, id: &str) -> Result<bool, WebError> {
        let changed = self
            .db()
            .execute(
                "UPDATE web_shares SET revoked = ?2 WHERE token_hash = ?1 AND revoked IS NULL",
                params![id, now_seconds()],
            )
            .map_err(WebError::sql)?;
        Ok(changed > 0)
    }
}

/// A hash checked against when the user does not exist (of a random password).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2lWmrsbqmu0DE3D0CmJt7Gq0bkA5PpbvRIZBC5lRIW4";

/// What the Postgres endpoint can check a user's password against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordState {
    NoSuchUser,
    /// An account older than the endpoint, whose password has not been seen since.
    NoVerifier,
    Verifier(String),
}

/// PostgreSQL's SCRAM-SHA-256 verifier of `password` (random salt, 4096 iterations).
fn scram_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

fn hash_password(password: &str) -> Result<String, WebError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(WebError::WeakPassword);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebError::Random { message: e.to_string() })?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| WebError::Hash { message: e.to_string() })?;
    Ok(argon2id()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| WebError::Hash { message: e.to_string() })?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().expect("a folder");
        let accounts = Accounts::open(&dir.path().join("state.db")).expect("opens");
        (dir, accounts)
    }

    #[test]
    fn passwords_are_argon2id_hashes_and_only_the_right_one_logs_in() {
        let (_dir, accounts) = accounts();
        accounts.add_user("ana", Role::Editor, "correct horse").expect("added");
        let stored: String = accounts
            .db()
            .query_row("SELECT password_hash FROM web_users", [], |r| r.get(0))
            .expect("a row");
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert_eq!(
            accounts.check_password("ana", "correct horse").expect("checked"),
            Some(User {
                name: "ana".into(),
                role: Role::Editor
            })
        );
        assert_eq!(accounts.check_password("ana", "wrong horse").expect("checked"), None);
        assert_eq!(
            accounts.check_password("nobody", "correct horse").expect("checked"),
            None
        );
        assert!(matches!(
            accounts.add_user("bo", Role::Viewer, "short"),
            Err(WebError::WeakPassword)
        ));
    }

    /// A viewer `ana` with a session: its cookie value.
    fn ana_logged_in(accounts: &Accounts) -> String {
        accounts.add_user("ana", Role::Viewer, "correct horse").expect("added");
        let user = accounts
            .check_password("ana", "correct horse")
            .expect("checked")
            .expect("ana");
        accounts.start_session(&user).expect("started").0
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn a_session_unused_for_fourteen_days_ends() {
        let (_dir, accounts) = accounts();
        let id = ana_logged_in(&accounts);
        assert!(accounts.session(&id).expect("read").is_some());
        accounts
            .age_session(&id, SESSION_IDLE + Duration::from_secs(1))
            .expect("aged");
        assert_eq!(accounts.session(&id).expect("read"), None);
        assert_eq!(accounts.session(&id).expect("read again"), None, "and is gone");
    }

    #[test]
    fn a_new_password_ends_the_old_sessions() {
        let (_dir, accounts) = accounts();
        let id = ana_logged_in(&accounts);
        accounts.set_password("ana", "battery staple").expect("changed");
        assert_eq!(accounts.session(&id).expect("read"), None);
    }

    #[test]
    fn a_revoked_or_expired_share_is_gone() {
        let (_dir, accounts) = accounts();
        let user = User {
            name: "ana".into(),
            role: Role::Admin,
        };
        let token = accounts.new_share("executive", &user, None).expect("shared");
        assert_eq!(
            accounts.share(&token).expect("read").map(|s| s.dashboard),
            Some("executive".into())
        );
        assert!(accounts.revoke_share(&token).expect("revoked"));
        assert_eq!(accounts.share(&token).expect("read"), None);
        let expired = accounts
            .new_share("executive", &user, Some(now_seconds() - 1))
            .expect("shared");
        assert_eq!(accounts.share(&expired).expect("read"), None);
    }
}
