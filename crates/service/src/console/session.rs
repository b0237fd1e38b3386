//! Console sessions: a random session id in an `HttpOnly; SameSite=Strict` cookie (`Secure` over https).
//!
//! A logged-in session is a row of `console_session`, so every replica on the database shares it and a
//! restart logs nobody out. The row is found by the SHA-256 of the id and holds the bearer token given at
//! login sealed (ChaCha20-Poly1305) with a key derived from the id: whoever reads the table has neither a
//! cookie nor a token. Each request re-reads the token's row (a revoked token ends its sessions at once);
//! a session unused for [`IDLE`] expires; logout deletes the row.
//!
//! Before the login there is no row: the login form's session id starts with `anon.` and its CSRF token
//! is derived from the id (a double-submit token: only a page that can read the cookie can send it).

use crate::db::entities::console_session;
use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, aead::Aead};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use workflow::access::Principal;

pub const COOKIE: &str = "sua_console";
/// A session unused this long expires.
pub const IDLE: Duration = Duration::hours(8);
/// The expiry is moved forward at most this often (a write per session, not per page).
const REFRESH: Duration = Duration::minutes(5);
const ANON: &str = "anon.";

#[derive(Clone, Debug)]
pub struct Session {
    /// The bearer token given at login (`None`: the login form's anonymous session).
    pub token: Option<String>,
    pub principal: Option<Principal>,
    pub csrf: String,
}

fn random() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The row's key: the hex SHA-256 of the session id.
fn id_hash(sid: &str) -> String {
    hex::encode(digest(&[b"sua console session id\0", sid.as_bytes()]))
}

fn cipher(sid: &str) -> ChaCha20Poly1305 {
    let key = digest(&[b"sua console token key\0", sid.as_bytes()]);
    ChaCha20Poly1305::new(&key.into())
}

fn seal(sid: &str, token: &str) -> Option<String> {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let mut out = nonce.to_vec();
    out.extend(
        cipher(sid)
            .encrypt(&Nonce::from(nonce), token.as_bytes())
            .ok()?,
    );
    Some(base64::engine::general_purpose::STANDARD.encode(out))
}

fn unseal(sid: &str, sealed: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .ok()?;
    if raw.len() < 12 {
        return None;
    }
    let (nonce, ct) = raw.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let clear = cipher(sid).decrypt(&Nonce::from(nonce), ct).ok()?;
    String::from_utf8(clear).ok()
}

/// Constant-time comparison of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new anonymous session (the login form): its id and the session. Nothing is stored.
pub fn anonymous() -> (String, Session) {
    let sid = format!("{ANON}{}", random());
    let s = anonymous_of(&sid);
    (sid, s)
}

fn anonymous_of(sid: &str) -> Session {
    Session {
        token: None,
        principal: None,
        csrf: base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(digest(&[b"sua console login csrf\0", sid.as_bytes()])),
    }
}

/// Store a logged-in session for `token` (whose caller is `principal`); returns its id. Expired sessions
/// are deleted on the way.
pub async fn create(
    st: &AppState,
    token: &str,
    principal: Principal,
) -> Result<(String, Session), sea_orm::DbErr> {
    let now = st.now();
    let sid = random();
    let s = Session {
        token: Some(token.to_owned()),
        principal: Some(principal.clone()),
        csrf: random(),
    };
    let sealed = seal(&sid, token)
        .ok_or_else(|| sea_orm::DbErr::Custom("console session: sealing failed".into()))?;
    let w = st.db.write(workflow::store::Scope::Platform).await?;
    console_session::Entity::delete_many()
        .filter(console_session::Column::ExpiresAt.lte(now))
        .exec(&w.txn)
        .await?;
    console_session::ActiveModel {
        id_hash: Set(id_hash(&sid)),
        token_id: Set(principal.token_id),
        token_sealed: Set(sealed),
        csrf: Set(s.csrf.clone()),
        created_at: Set(now),
        expires_at: Set(now + IDLE),
    }
    .insert(&w.txn)
    .await?;
    w.commit().await?;
    Ok((sid, s))
}

/// The session of `sid`, when it exists, has not expired and its token is still valid.
pub async fn load(st: &AppState, sid: &str) -> Option<Session> {
    if sid.starts_with(ANON) {
        return Some(anonymous_of(sid));
    }
    let now = st.now();
    let row = console_session::Entity::find_by_id(id_hash(sid))
        .one(&st.db.conn)
        .await
        .ok()??;
    if row.expires_at <= now {
        remove(st, sid).await;
        return None;
    }
    let token = unseal(sid, &row.token_sealed)?;
    let principal = crate::auth::principal_for_token(st, &token).await.ok()?;
    if refresh_due(row.expires_at, now) {
        let _ = touch(st, row.clone(), now).await;
    }
    Some(Session {
        token: Some(token),
        principal: Some(principal),
        csrf: row.csrf,
    })
}

fn refresh_due(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    expires_at - now < IDLE - REFRESH
}

async fn touch(
    st: &AppState,
    row: console_session::Model,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let w = st.db.write(workflow::store::Scope::Platform).await?;
    let mut am: console_session::ActiveModel = row.into();
    am.expires_at = Set(now + IDLE);
    am.update(&w.txn).await?;
    w.commit().await
}

/// Forget the session of `sid` (logout, or a new login).
pub async fn remove(st: &AppState, sid: &str) {
    if sid.starts_with(ANON) {
        return;
    }
    if let Ok(w) = st.db.write(workflow::store::Scope::Platform).await {
        let deleted = console_session::Entity::delete_by_id(id_hash(sid))
            .exec(&w.txn)
            .await;
        if deleted.is_ok() {
            let _ = w.commit().await;
        }
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
    fn a_sealed_token_opens_only_with_its_session_id() {
        let sealed = seal("sid-a", "the-token").unwrap();
        assert!(!sealed.contains("the-token"));
        assert_eq!(unseal("sid-a", &sealed).as_deref(), Some("the-token"));
        assert_eq!(unseal("sid-b", &sealed), None);
        assert_ne!(id_hash("sid-a"), id_hash("sid-b"));
        assert!(!id_hash("sid-a").contains("sid-a"));
    }

    #[test]
    fn anonymous_sessions_are_random_and_their_csrf_token_is_bound_to_the_id() {
        let (a, sa) = anonymous();
        let (b, sb) = anonymous();
        assert_ne!(a, b);
        assert_ne!(sa.csrf, sb.csrf);
        assert_eq!(anonymous_of(&a).csrf, sa.csrf);
        assert!(same(&sa.csrf, &sa.csrf.clone()) && !same(&sa.csrf, &sb.csrf));
    }

    #[test]
    fn the_expiry_moves_at_most_every_few_minutes() {
        let now = Utc::now();
        assert!(!refresh_due(now + IDLE, now));
        assert!(!refresh_due(now + IDLE - Duration::minutes(4), now));
        assert!(refresh_due(now + IDLE - Duration::minutes(6), now));
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
