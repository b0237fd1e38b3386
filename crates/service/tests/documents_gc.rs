//! `sua admin documents-gc` end to end on a local store and SQLite: a young orphan is kept, an old one
//! is listed by the dry run and removed by `--delete`, a foreign key is left alone, exit 0; a store that
//! cannot be opened is an error naming the setting; on S3 (moto, skipped without it) under a key prefix.
//! (Which objects count as referenced is tested in `docstore::gc`'s unit tests with real rows.)

use std::{
    path::Path,
    process::{Command, Output},
};
use uuid::Uuid;

const SUA: &str = env!("CARGO_BIN_EXE_sua");

fn sua(dir: &Path, docs: &Path, args: &[&str]) -> Output {
    let url = format!("sqlite://{}?mode=rwc", dir.join("sua.db").display());
    Command::new(SUA)
        .args(args)
        .current_dir(dir)
        .env("SUA_DATABASE__URL", url)
        .env("SUA_DOCUMENTS__DIR", docs)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run sua")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn dry_run_then_delete_only_old_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    std::fs::create_dir_all(docs.join("backups")).unwrap();
    let orphan = format!("{}.sealed", Uuid::now_v7());
    std::fs::write(docs.join(&orphan), b"sealed orphan").unwrap();
    std::fs::write(docs.join("backups/db.sql"), b"not ours").unwrap();

    // default threshold (24 h): the orphan was just written, so it is kept and not listed
    let o = sua(tmp.path(), &docs, &["admin", "documents-gc", "--delete"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(!t.contains(&orphan), "{t}");
    assert!(
        t.contains("2 objects listed") && t.contains("1 unreferenced younger than 24 h"),
        "{t}"
    );
    assert!(
        t.contains("1 foreign keys") && t.contains("deleted 0 orphans, 0 bytes"),
        "{t}"
    );
    assert!(docs.join(&orphan).exists());

    // threshold 0, dry run: listed, still there
    let o = sua(
        tmp.path(),
        &docs,
        &["admin", "documents-gc", "--older-than-hours", "0"],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains(&format!("orphan\t{orphan}\t13 bytes")), "{t}");
    assert!(
        t.contains("1 orphans (13 bytes)") && t.contains("dry run"),
        "{t}"
    );
    assert!(docs.join(&orphan).exists());

    // --delete: removed, the foreign file kept
    let o = sua(
        tmp.path(),
        &docs,
        &[
            "admin",
            "documents-gc",
            "--older-than-hours",
            "0",
            "--delete",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains(&format!("deleted\t{orphan}\t13 bytes")), "{t}");
    assert!(t.contains("deleted 1 orphans, 13 bytes"), "{t}");
    assert!(!docs.join(&orphan).exists());
    assert!(docs.join("backups/db.sql").exists());
}

#[test]
fn a_store_that_cannot_be_opened_names_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let o = sua(tmp.path(), &not_a_dir, &["admin", "documents-gc"]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("documents.dir"), "{t}");
}

/// A `moto_server` (PyPI `moto[server]`) on a free port with a bucket, killed on drop.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const BUCKET: &str = "sua-documents";

impl Moto {
    /// `None` when `moto_server` is not installed.
    async fn start() -> Option<Moto> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let mut m = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let c = reqwest::Client::new();
        for _ in 0..300 {
            if c.get(&m.endpoint).send().await.is_ok() {
                break;
            }
            if let Ok(Some(_)) = m.child.try_wait() {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let r = c
            .put(format!("{}/{BUCKET}", m.endpoint))
            .send()
            .await
            .expect("moto_server did not start");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        Some(m)
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&self.endpoint)
            .with_region("us-east-1")
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .unwrap()
    }

    async fn put(&self, key: &str, b: &'static [u8]) {
        use object_store::ObjectStoreExt;
        let p = object_store::path::Path::parse(key).unwrap();
        self.client().put(&p, b.into()).await.unwrap();
    }

    async fn exists(&self, key: &str) -> bool {
        use object_store::ObjectStoreExt;
        let p = object_store::path::Path::parse(key).unwrap();
        self.client().head(&p).await.is_ok()
    }
}

/// On S3 (moto), under a key prefix: the same dry run and delete; objects outside the prefix are not
/// even listed. Skipped without `moto_server`.
#[tokio::test]
async fn s3_under_a_prefix() {
    let Some(moto) = Moto::start().await else {
        eprintln!("skipped: moto_server not installed (pip install 'moto[server]')");
        return;
    };
    let orphan = format!("{}.sealed", Uuid::now_v7());
    let outside = format!("{}.sealed", Uuid::now_v7());
    moto.put(&format!("sua/{orphan}"), b"sealed orphan").await;
    moto.put(&outside, b"another installation").await;
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let url = format!("sqlite://{}?mode=rwc", tmp.path().join("sua.db").display());
        Command::new(SUA)
            .args(["admin", "documents-gc"])
            .args(args)
            .current_dir(tmp.path())
            .env("SUA_DATABASE__URL", url)
            .env("SUA_DOCUMENTS__BACKEND", "s3")
            .env("SUA_DOCUMENTS__BUCKET", BUCKET)
            .env("SUA_DOCUMENTS__ENDPOINT", &moto.endpoint)
            .env("SUA_DOCUMENTS__ALLOW_HTTP", "true")
            .env("SUA_DOCUMENTS__ACCESS_KEY_ID", "testing")
            .env("SUA_DOCUMENTS__SECRET_ACCESS_KEY", "testing")
            .env("SUA_DOCUMENTS__PREFIX", "sua")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run sua")
    };
    let o = run(&[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("1 objects listed") && t.contains("1 unreferenced younger than 24 h"),
        "{t}"
    );
    let o = run(&["--older-than-hours", "0"]);
    let t = text(&o);
    assert!(t.contains(&format!("orphan\t{orphan}\t13 bytes")), "{t}");
    assert!(moto.exists(&format!("sua/{orphan}")).await);
    let o = run(&["--older-than-hours", "0", "--delete"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("deleted 1 orphans, 13 bytes"), "{t}");
    assert!(!moto.exists(&format!("sua/{orphan}")).await);
    assert!(moto.exists(&outside).await);
}
