//! Console sessions: a random session id in an `HttpOnly; SameSite=Strict` cookie (`Secure` over https),
//! mapped in this process to the bearer token given at login and a per-session CSRF token.
//!
//! The token is kept only in memory, never in the cookie; each API call the console makes re-reads it in
//! the database (a revoked token stops working at once). Sessions live in the process: behind several
//! replicas the console needs sticky sessions (docs/console.md).

use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use workflow::access::Principal;

pub const COOKIE: &str = "sua_console";
/// A session unused this long is forgotten.
const IDLE: Duration = Duration::from_secs(8 * 60 * 60);
const MAX_SESSIONS: usize = 100_000;

#[derive(Clone, Debug)]
pub struct Session {
    /// The bearer token given at login (`None`: an anonymous session, for the login form's CSRF token).
    pub token: Option<String>,
    pub principal: Option<Principal>,
    pub csrf: String,
    last_seen: Instant,
}

/// The console's state in the process: its sessions, and the dashboards' cached aggregates.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    pub(super) overview: super::buyer::OverviewCache,
}

fn random() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time comparison of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session; returns its id and the session.
    pub fn create(&self, token: Option<String>, principal: Option<Principal>) -> (String, Session) {
        let sid = random();
        let s = Session {
            token,
            principal,
            csrf: random(),
            last_seen: Instant::now(),
        };
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.last_seen.elapsed() < IDLE && s.principal.is_some());
        }
        map.insert(sid.clone(), s.clone());
        (sid, s)
    }

    pub fn get(&self, sid: &str) -> Option<Session> {
        let mut map = self.lock();
        match map.get_mut(sid) {
            Some(s) if s.last_seen.elapsed() < IDLE => {
                s.last_seen = Instant::now();
                Some(s.clone())
            }
            Some(_) => {
                map.remove(sid);
                None
            }
            None => None,
        }
    }

    pub fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }
}

/// The session id in the request's cookies.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// Whether the cookie carries `Secure`: as configured, else when the public URL (or the proxy's
/// `X-Forwarded-Proto`) says https.
fn secure(st: &AppState, headers: &HeaderMap) -> bool {
    st.settings.http.secure_cookies.unwrap_or_else(|| {
        st.settings.http.public_base_url.starts_with("https://")
            || headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
    })
}

pub fn set_cookie(st: &AppState, sid: &str, headers: &HeaderMap) -> HeaderValue {
    let secure = if secure(st, headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn clear_cookie(st: &AppState, headers: &HeaderMap) -> HeaderValue {
    let secure = if secure(st, headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_and_forgotten_on_logout() {
        let s = Sessions::default();
        let (a, sa) = s.create(None, None);
        let (b, sb) = s.create(Some("t".into()), None);
        assert_ne!(a, b);
        assert_ne!(sa.csrf, sb.csrf);
        assert_eq!(s.get(&b).unwrap().token.as_deref(), Some("t"));
        s.remove(&b);
        assert!(s.get(&b).is_none());
        assert!(same(&sa.csrf, &sa.csrf.clone()) && !same(&sa.csrf, &sb.csrf));
    }

    #[test]
    fn the_session_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sua_console=xyz; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("xyz"));
    }
}
