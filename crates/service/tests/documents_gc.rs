//! `sua admin documents-gc` end to end on a local store and SQLite: a young orphan is kept, an old one
//! is listed by the dry run and removed by `--delete`, a foreign key is left alone, exit 0; a store that
//! cannot be opened is an error naming the setting. (Which objects count as referenced is tested in
//! `docstore::gc`'s unit tests with real rows.)

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
