//! An S3-compatible server on loopback, inside the test process: the `s3s` protocol layer (SigV4
//! signatures checked against [`ACCESS_KEY_ID`]/[`SECRET_ACCESS_KEY`]) over `s3s-fs`, which keeps the
//! buckets in a temporary directory. It serves what the document store uses: put, get, head, delete,
//! list (v2) and multipart uploads (create, parts, complete, abort). Unsigned requests are refused.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::thread::JoinHandle;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::sync::oneshot;

/// The access key the server accepts.
pub const ACCESS_KEY_ID: &str = "testing";
/// The secret key the server accepts.
pub const SECRET_ACCESS_KEY: &str = "testing";
/// The region to sign for.
pub const REGION: &str = "us-east-1";

/// A running S3 server with one bucket; stopped, and its directory removed, on drop.
pub struct S3Server {
    /// `http://127.0.0.1:<port>` (path-style requests).
    pub endpoint: String,
    /// The bucket created at start.
    pub bucket: String,
    root: tempfile::TempDir,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl S3Server {
    /// Starts the server on a free port with an empty bucket `bucket`; it listens when this returns.
    pub fn start(bucket: &str) -> S3Server {
        let root = tempfile::tempdir().expect("tempdir for the S3 server");
        std::fs::create_dir(root.path().join(bucket)).expect("create the bucket");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs over the temporary directory");
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
            b.build()
        };
        let listener = StdListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("s3-server-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("S3 server runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("S3 server listener");
                    let http = ConnBuilder::new(TokioExecutor::new());
                    let accept = async {
                        loop {
                            let Ok((socket, _)) = listener.accept().await else {
                                continue;
                            };
                            let conn = http
                                .serve_connection(TokioIo::new(socket), service.clone())
                                .into_owned();
                            tokio::spawn(async move {
                                let _ = conn.await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept => {}
                    }
                });
                rt.shutdown_background();
            })
            .expect("S3 server thread");
        S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_owned(),
            root,
            running: Some((stop_tx, thread)),
        }
    }

    /// The directory holding the buckets.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Multipart uploads begun and neither completed nor aborted (`s3s-fs` keeps one
    /// `.upload-<id>.json` file per upload in progress, removed on completion or abort).
    pub fn pending_uploads(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .expect("S3 server directory")
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(".upload-") && name.ends_with(".json")
            })
            .count()
    }

    /// The `SUA_DOCUMENTS__*` settings that point `sua` at this server's bucket.
    pub fn sua_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SUA_DOCUMENTS__BACKEND", "s3".into()),
            ("SUA_DOCUMENTS__BUCKET", self.bucket.clone()),
            ("SUA_DOCUMENTS__ENDPOINT", self.endpoint.clone()),
            ("SUA_DOCUMENTS__REGION", REGION.into()),
            ("SUA_DOCUMENTS__ALLOW_HTTP", "true".into()),
            ("SUA_DOCUMENTS__ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
            ("SUA_DOCUMENTS__SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}
