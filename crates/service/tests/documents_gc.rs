//! `sua admin documents-gc` end to end on a local store and SQLite: a young orphan is kept, an old one
//! is listed by the dry run and removed by `--delete`, a foreign key is left alone, exit 0; a store that
//! cannot be opened is an error naming the setting; on S3 (an S3 server in the test process) under a key prefix.
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

/// An S3 server in the test process (`testkit::s3`) with a bucket, stopped on drop.
struct S3 {
    server: testkit::s3::S3Server,
}

const BUCKET: &str = "sua-documents";

impl S3 {
    fn start() -> S3 {
        S3 {
            server: testkit::s3::S3Server::start(BUCKET),
        }
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&self.server.endpoint)
            .with_region(testkit::s3::REGION)
            .with_allow_http(true)
            .with_access_key_id(testkit::s3::ACCESS_KEY_ID)
            .with_secret_access_key(testkit::s3::SECRET_ACCESS_KEY)
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

/// On S3 (an in-process S3 server), under a key prefix: the same dry run and delete; objects outside
/// the prefix are not even listed.
#[tokio::test]
async fn s3_under_a_prefix() {
    let s3 = S3::start();
    let orphan = format!("{}.sealed", Uuid::now_v7());
    let outside = format!("{}.sealed", Uuid::now_v7());
    s3.put(&format!("sua/{orphan}"), b"sealed orphan").await;
    s3.put(&outside, b"another installation").await;
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
            .env("SUA_DOCUMENTS__ENDPOINT", &s3.server.endpoint)
            .env("SUA_DOCUMENTS__ALLOW_HTTP", "true")
            .env("SUA_DOCUMENTS__ACCESS_KEY_ID", testkit::s3::ACCESS_KEY_ID)
            .env(
                "SUA_DOCUMENTS__SECRET_ACCESS_KEY",
                testkit::s3::SECRET_ACCESS_KEY,
            )
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
    assert!(s3.exists(&format!("sua/{orphan}")).await);
    let o = run(&["--older-than-hours", "0", "--delete"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("deleted 1 orphans, 13 bytes"), "{t}");
    assert!(!s3.exists(&format!("sua/{orphan}")).await);
    assert!(s3.exists(&outside).await);
}
