//! `sua serve`: tracing, database + migrations, scheduler, HTTP server with graceful shutdown.

use crate::{api, clock::OffsetClock, config::Settings, scheduler, state::AppState};
use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use std::{future::Future, sync::Arc, time::Duration};
use tower_http::trace::TraceLayer;

/// Per-request time limits: `upload_timeout_secs` for streamed uploads, `request_timeout_secs` for the rest.
#[derive(Clone, Copy)]
struct Timeouts {
    request: Duration,
    upload: Duration,
}

/// A streamed upload: `PUT` of a bid envelope file or of a tender/request document.
fn is_streamed_upload(method: &Method, path: &str) -> bool {
    method == Method::PUT && (path.contains("/files/") || path.contains("/documents/"))
}

/// Answers 408 (problem body) when the handler runs past its limit; the handler's future is dropped, so an
/// upload in progress is aborted (no object, no row: see `docstore`).
async fn time_limit(timeouts: Timeouts, req: Request, next: Next) -> Response {
    let limit = if is_streamed_upload(req.method(), req.uri().path()) {
        timeouts.upload
    } else {
        timeouts.request
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let mut r = crate::error::AppError::bad(
                "request",
                format!("the request took longer than {} s", limit.as_secs()),
            )
            .into_response();
            *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
            r
        }
    }
}

/// Limits on connections (`[http] header_read_timeout_secs`, `max_connections`).
#[derive(Clone, Copy)]
struct ConnLimits {
    header_read: Duration,
    max_connections: usize,
}

/// The HTTP/1.1 server (hyper, as `axum::serve` would run it) with the two connection limits axum's
/// `serve` cannot set: a connection that does not deliver a complete request header within
/// `header_read` is closed (hyper's header-read timer, which also closes idle keep-alive connections),
/// and at most `max_connections` are served at once (the next one is accepted when one closes). When
/// `shutdown` resolves, no new connection is accepted and the open ones finish their requests.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        server::graceful::GracefulShutdown,
        service::TowerToHyperService,
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // out of file descriptors and the like: wait instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Listen on `addr` (`host:port`, the first address it resolves to that can be bound) with a `listen`
/// backlog of `backlog` (`http.listen_backlog`; tokio's `TcpListener::bind` fixes it at 1024, too few for
/// a deadline rush whose connections all arrive within a second).
async fn listen(addr: &str, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        if let Err(e) = socket.bind(a) {
            last = Some(e);
            continue;
        }
        return socket.listen(backlog);
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "resolves to no address")
    }))
}

/// Descriptors kept aside from connections: the database pool, the SQLite files, uploads being written,
/// the mail transport, the PCP client.
const DESCRIPTORS_RESERVED: u64 = 256;

/// The connection cap actually applied: `configured` (`http.max_connections`), lowered if the process's
/// open-file limit, raised first to its hard limit, cannot hold that many connections beside
/// [`DESCRIPTORS_RESERVED`] (an `accept` failing with EMFILE would refuse connections at random instead).
fn connection_cap(configured: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return configured;
        }
    };
    let fits = usize::try_from(limit.saturating_sub(DESCRIPTORS_RESERVED))
        .unwrap_or(usize::MAX)
        .max(1);
    if fits < configured {
        tracing::warn!(
            configured,
            applied = fits,
            open_file_limit = limit,
            "http.max_connections lowered to fit the open-file limit (raise `ulimit -n`)"
        );
        return fits;
    }
    configured
}

pub fn init_tracing(settings: &Settings) {
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    let registry = tracing_subscriber::registry().with(filter);
    let res = if settings.log.format == "json" {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
    let _ = res; // already initialised (tests)
}

pub use crate::runtime::open_db;

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = open_db(&settings).await?;
    // sealing keys: configured, or development keys generated into sealing.key_dir on first start
    crate::sealed::keys(&settings.sealing)?;
    // uploads cut by a crash leave partial files in a local document store: remove them before serving
    match crate::docstore::remove_incomplete_uploads(&settings.documents.dir) {
        Ok(0) => {}
        Ok(n) => tracing::warn!(n, "document store: removed partial uploads left by a crash"),
        Err(e) => tracing::error!(error = %e, "document store: cannot clean partial uploads"),
    }
    let clock = Arc::new(OffsetClock::default());
    if settings.clock.allow_override {
        tracing::warn!(
            "clock.allow_override is on: PUT /v1/admin/clock can move time (tests only)"
        );
    }
    let state = AppState::new(db, clock, Arc::new(settings.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let pcp_stop = stop_rx.clone();
    let sched = if settings.scheduler.enabled {
        Some(tokio::spawn(scheduler::run(
            state.runtime.clone(),
            Duration::from_secs(settings.scheduler.interval_secs),
            stop_rx,
        )))
    } else {
        None
    };
    // the mail worker runs on the application's clock (moved by `PUT /v1/admin/clock` in tests)
    let mailer = notify::start_with_writer(
        state.db.conn.clone(),
        Arc::new(state.db.clone()),
        &settings.mail,
        state.clock.clone(),
    )
    .map_err(|e| anyhow::anyhow!("mail: {e}"))?;
    // the PCP worker (ANAC's Piattaforma Contratti Pubblici), when `[pcp] enabled`
    let pcp_worker = if settings.pcp.enabled {
        Some(crate::pcp::spawn(
            state.runtime.clone(),
            settings.pcp.clone(),
            pcp_stop,
        )?)
    } else {
        None
    };
    let timeouts = Timeouts {
        request: Duration::from_secs(settings.http.request_timeout_secs),
        upload: Duration::from_secs(settings.http.upload_timeout_secs),
    };
    let app = api::app(state)
        .layer(DefaultBodyLimit::max(settings.http.body_limit_bytes))
        .layer(middleware::from_fn(move |req, next| {
            time_limit(timeouts, req, next)
        }))
        .layer(TraceLayer::new_for_http());
    let listener = listen(&settings.http.addr, settings.http.listen_backlog)
        .await
        .map_err(|e| anyhow::anyhow!("http.addr: cannot listen on {}: {e}", settings.http.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "sua listening");
    // A stable line on stdout so scripts and black-box tests learn the port when http.addr ends in :0.
    println!("sua listening on http://{addr}");
    let grace = Duration::from_secs(settings.http.shutdown_grace_secs);
    let limits = ConnLimits {
        header_read: Duration::from_secs(settings.http.header_read_timeout_secs),
        max_connections: connection_cap(settings.http.max_connections),
    };
    let server = serve_http(listener, app, limits, shutdown_signal());
    // After the signal, requests in flight get `grace` to finish; then we exit anyway.
    tokio::select! {
        r = server => { r?; }
        _ = async { shutdown_signal().await; tokio::time::sleep(grace).await; } => {
            tracing::warn!("grace period over; exiting with requests still in flight");
        }
    }
    let _ = stop_tx.send(true);
    if let Some(s) = sched {
        let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
    }
    if let Some(p) = pcp_worker {
        let _ = tokio::time::timeout(Duration::from_secs(5), p).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), mailer.shutdown()).await;
    tracing::info!("sua stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, body::Body, routing::put};

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "done"
    }

    fn app(request_ms: u64, upload_ms: u64) -> Router {
        let timeouts = Timeouts {
            request: Duration::from_millis(request_ms),
            upload: Duration::from_millis(upload_ms),
        };
        Router::new()
            .route("/v1/bids/b/envelopes/a/files/x.pdf", put(slow))
            .route("/v1/tenders/t/documents/bando.pdf", put(slow))
            .route("/v1/tenders/t", put(slow))
            .layer(middleware::from_fn(move |req, next| {
                time_limit(timeouts, req, next)
            }))
    }

    async fn status(app: Router, path: &str) -> StatusCode {
        use tower::ServiceExt;
        let req = Request::put(path).body(Body::empty()).unwrap();
        app.oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn uploads_get_the_upload_limit_and_other_requests_the_request_limit() {
        // request limit 100 ms, upload limit 2 s: the 300 ms handler times out only outside uploads
        let a = app(100, 2000);
        assert_eq!(
            status(a.clone(), "/v1/tenders/t").await,
            StatusCode::REQUEST_TIMEOUT
        );
        assert_eq!(
            status(a.clone(), "/v1/bids/b/envelopes/a/files/x.pdf").await,
            StatusCode::OK
        );
        assert_eq!(
            status(a, "/v1/tenders/t/documents/bando.pdf").await,
            StatusCode::OK
        );
        // and an upload past its own limit is cut too
        let b = app(2000, 100);
        assert_eq!(
            status(b.clone(), "/v1/bids/b/envelopes/a/files/x.pdf").await,
            StatusCode::REQUEST_TIMEOUT
        );
        assert_eq!(status(b, "/v1/tenders/t").await, StatusCode::OK);
    }
}
