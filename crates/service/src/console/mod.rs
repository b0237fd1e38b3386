//! The web console: server-rendered Italian pages for buyers, municipalities, bidders and the public,
//! served by `sua serve` beside the API (docs/console.md).
//!
//! The console holds no rule of its own. Every action a page offers is the API's operation, dispatched
//! in process to the same router with the session's bearer token ([`Ctx::api`]): the same handler, the
//! same `workflow` call, the same access rules, validation and redactions as a client of the API gets.
//! Pages that the API has no answer for (a dashboard, a search) read through the `workflow` functions the
//! API uses (`access::tenders_of`, `access::public_tenders`, `access::manage_tender`, `views`), and a
//! lifecycle button is enabled by a dry run of the `lifecycle` machine (`workflow::transition::apply_*`).
//!
//! Sessions ([`session`], in the database: shared by the replicas, kept across restarts): `GET /` shows
//! the login form (the API's bearer token), the session cookie is `HttpOnly; SameSite=Strict` (+ `Secure`
//! over https), and every form carries the session's CSRF token: a POST without it is answered 403 before
//! anything runs.

// a page's refusal is the rendered response itself, returned at once (as in api/documents.rs)
#![allow(clippy::result_large_err)]

mod admin;
mod bidder;
mod buyer;
mod charts;
mod municipality;
mod public;
mod render;
pub mod session;

use crate::{auth::principal_for_token, state::AppState};
use axum::{
    Extension, Router,
    body::Body,
    extract::{FromRequestParts, State},
    http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde_json::Value;
use std::collections::HashMap;
use tower::ServiceExt;
use workflow::access::{Principal, Role};

/// The API router with its state, for the console's in-process calls (an axum extension).
#[derive(Clone)]
pub struct ApiHandle(pub Router);

/// The console's routes (their state: the application's; the API handle comes as an extension).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(login_page))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
        .merge(public::router())
        .merge(buyer::router())
        .merge(municipality::router())
        .merge(bidder::router())
        .merge(admin::router())
}

/// Attach the console to the application router: its routes, and the handle of the API they call.
pub fn attach(router: Router<AppState>, api: Router) -> Router<AppState> {
    router
        .merge(self::router())
        .layer(Extension(ApiHandle(api)))
}

async fn css() -> Response {
    static_asset(
        "text/css; charset=utf-8",
        include_str!("static/console.css"),
    )
}

async fn js() -> Response {
    static_asset(
        "text/javascript; charset=utf-8",
        include_str!("static/console.js"),
    )
}

fn static_asset(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------- the caller

/// A console request's caller: its session (possibly anonymous) and the API handle.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub api: ApiHandle,
    pub session: Option<session::Session>,
    /// The session id (cookie value), when there is a session.
    pub sid: Option<String>,
    /// The outcome of the last POST, carried by the redirect (`?ok=` / `?err=`).
    pub flash_ok: Option<String>,
    pub flash_err: Option<String>,
    /// Where the error belongs when it is a form field's (`?modulo=<form>&campo=<field>`): shown next
    /// to that field instead of at the top.
    pub flash_at: Option<(String, String)>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let api = parts
            .extensions
            .get::<ApiHandle>()
            .cloned()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let sid = session::cookie(&parts.headers);
        let session = match sid.as_deref() {
            Some(s) => session::load(st, s).await,
            None => None,
        };
        let q: HashMap<String, String> =
            axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
                .map(|q| q.0)
                .unwrap_or_default();
        Ok(Ctx {
            state: st.clone(),
            api,
            session,
            sid,
            flash_ok: q.get("ok").cloned(),
            flash_err: q.get("err").cloned(),
            flash_at: q.get("modulo").cloned().zip(q.get("campo").cloned()),
        })
    }
}

/// A failed API call, as a page shows it.
#[derive(Debug, Clone)]
pub struct Fail {
    pub status: u16,
    pub detail: String,
    pub field: Option<String>,
    pub rule: Option<String>,
}

impl Fail {
    /// The message a page shows: the refusal's rule first when there is one.
    pub fn message(&self) -> String {
        match &self.rule {
            Some(r) if !r.is_empty() => format!("{r}: {}", self.detail),
            _ => self.detail.clone(),
        }
    }
}

impl Ctx {
    /// The same request without its session: the API calls it makes are anonymous (the public's view).
    pub fn anonymous(&self) -> Ctx {
        Ctx {
            session: None,
            sid: None,
            ..self.clone()
        }
    }

    /// The logged-in caller, or a redirect to the login page.
    pub fn principal(&self) -> Result<Principal, Response> {
        self.session
            .as_ref()
            .and_then(|s| s.principal.clone())
            .ok_or_else(|| Redirect::to("/?scaduta=1").into_response())
    }

    /// The logged-in caller with `role`; another role is refused with a 403 page.
    pub fn require(&self, role: Role) -> Result<Principal, Response> {
        let p = self.principal()?;
        if p.role == role || (p.role == Role::PlatformAdmin && role == Role::SuaBuyer) {
            Ok(p)
        } else {
            Err(self.error_page(
                StatusCode::FORBIDDEN,
                "Questa pagina non è disponibile per il tuo ruolo.",
            ))
        }
    }

    pub fn csrf(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default()
    }

    /// Refuse (403, nothing done) a form without this session's CSRF token.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), Response> {
        self.check_csrf_value(form.get("csrf").map(String::as_str))
    }

    pub fn check_csrf_value(&self, token: Option<&str>) -> Result<(), Response> {
        let ok = match (&self.session, token) {
            (Some(s), Some(t)) => session::same(&s.csrf, t),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.error_page(
                StatusCode::FORBIDDEN,
                "Richiesta rifiutata: il modulo è scaduto o non proviene da questa console (token CSRF \
                 mancante o errato). Ricarica la pagina e riprova.",
            ))
        }
    }

    /// Call the API in process with the session's token; the JSON answer or the problem it answered.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Fail> {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(tok) = self.session.as_ref().and_then(|s| s.token.as_deref()) {
            req = req.header(header::AUTHORIZATION, format!("Bearer {tok}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .map_err(|e| Fail {
            status: 500,
            detail: e.to_string(),
            field: None,
            rule: None,
        })?;
        self.dispatch(req).await
    }

    /// Send a prepared request through the API router (the upload proxy streams its body this way).
    pub async fn dispatch(&self, req: Request<Body>) -> Result<Value, Fail> {
        let resp = self
            .api
            .0
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let v: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            Err(Fail {
                status,
                detail: s("detail").unwrap_or_else(|| v.as_str().unwrap_or("errore").to_owned()),
                field: s("field"),
                rule: s("rule"),
            })
        }
    }

    /// An error page with `status`.
    pub fn error_page(&self, status: StatusCode, message: &str) -> Response {
        let mut r = render::page(
            self,
            "error.html",
            minijinja::context! { title => "Errore", message => message },
        );
        *r.status_mut() = status;
        r
    }

    /// The answer to an API failure on a page load: 404/403 as pages, the rest as 4xx/5xx with the message.
    pub fn fail_page(&self, f: &Fail) -> Response {
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let msg = match f.status {
            404 => "Non trovato (o non visibile con il tuo accesso).".to_owned(),
            401 => "Sessione non valida: accedi di nuovo.".to_owned(),
            _ => f.message(),
        };
        self.error_page(status, &msg)
    }
}

/// A workflow refusal on a page load (not found or not allowed), as a page.
pub fn workflow_fail(ctx: &Ctx, e: workflow::WorkflowError) -> Response {
    let f = match crate::error::AppError::from(e) {
        crate::error::AppError::NotFound(_) => Fail {
            status: 404,
            detail: String::new(),
            field: None,
            rule: None,
        },
        crate::error::AppError::Forbidden(why) => Fail {
            status: 403,
            detail: why,
            field: None,
            rule: None,
        },
        other => Fail {
            status: 500,
            detail: other.to_string(),
            field: None,
            rule: None,
        },
    };
    ctx.fail_page(&f)
}

/// After a POST: back to `to` with a message in the query (`ok` or `err`), the Post/Redirect/Get way.
pub fn back(to: &str, result: Result<String, String>) -> Response {
    let (k, v) = match result {
        Ok(m) => ("ok", m),
        Err(m) => ("err", m),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    let url = format!("{to}{sep}{k}={}", urlencode(&v));
    Redirect::to(&url).into_response()
}

/// After a form's POST failed: back to `to` with the message next to `field` of form `form` (the page
/// renders it there, `aria-describedby` from the field), and the page scrolled to the form.
pub fn back_to_field(to: &str, form: &str, field: &str, message: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    let url = format!(
        "{to}{sep}err={}&modulo={}&campo={}#{}",
        urlencode(message),
        urlencode(form),
        urlencode(field),
        urlencode(form)
    );
    Redirect::to(&url).into_response()
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where a role lands after the login.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::SuaBuyer => "/sua",
        Role::PlatformAdmin => "/admin",
        Role::Municipality => "/comune",
        Role::Bidder => "/impresa",
        Role::Commissioner => "/gare",
    }
}

// ---------------------------------------------------------------- login / logout

async fn login_page(ctx: Ctx, headers: HeaderMap) -> Response {
    if let Some(p) = ctx.session.as_ref().and_then(|s| s.principal.as_ref()) {
        return Redirect::to(home_of(p.role)).into_response();
    }
    // an anonymous session carries the login form's CSRF token
    let (ctx, cookie) = match &ctx.session {
        Some(_) => (ctx, None),
        None => {
            let (sid, s) = session::anonymous();
            let cookie = session::set_cookie(&ctx.state, &sid, &headers);
            (
                Ctx {
                    session: Some(s),
                    sid: Some(sid),
                    ..ctx
                },
                Some(cookie),
            )
        }
    };
    let mut r = render::page(
        &ctx,
        "login.html",
        minijinja::context! { title => "Accesso" },
    );
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

async fn login(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = ctx.check_csrf(&form) {
        return r;
    }
    let token = form.get("token").map(|t| t.trim()).unwrap_or_default();
    match principal_for_token(&st, token).await {
        Ok(p) => {
            // a new session id at login (no fixation); the anonymous one is dropped
            if let Some(old) = &ctx.sid {
                session::remove(&st, old).await;
            }
            let home = home_of(p.role);
            let sid = match session::create(&st, token, p).await {
                Ok((sid, _)) => sid,
                Err(e) => {
                    return ctx.fail_page(&Fail {
                        status: 500,
                        detail: e.to_string(),
                        field: None,
                        rule: None,
                    });
                }
            };
            let mut r = Redirect::to(home).into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, session::set_cookie(&st, &sid, &headers));
            r
        }
        Err(_) => {
            let mut r = render::page(
                &ctx,
                "login.html",
                minijinja::context! {
                    title => "Accesso",
                    error => "Token non valido o revocato.",
                },
            );
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

async fn logout(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = ctx.check_csrf(&form) {
        return r;
    }
    if let Some(sid) = &ctx.sid {
        session::remove(&st, sid).await;
    }
    let mut r = Redirect::to("/").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&st, &headers));
    r
}
