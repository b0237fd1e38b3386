//! `sua admin documents-gc`: complete objects of the document store that no row references (issue 6).
//!
//! An object becomes visible before its row commits (see the module docs of [`super`]); a crash between
//! the two, or a row rolled back whose object could not be deleted, leaves an object nothing points to.
//! This lists every object of the store, compares the keys with `document.storage_key` and
//! `bid_file.sealed_path`, and reports (or, with `--delete`, removes) the unreferenced ones older than a
//! threshold. Younger objects are never touched: an upload may be in flight in a running `sua serve`
//! (object visible, row about to commit). The store is listed first and the rows read afterwards, so a
//! row committed during the listing counts as a reference.
//!
//! Only keys shaped like the ones sua writes (`documents/{request|tender}/{uuid}/{uuid}`,
//! `{uuid}.sealed`, `{sha256}.sealed`) can be orphans: anything else in a shared bucket or directory is
//! counted as foreign and left alone.

use super::{Backend, DocumentSettings, Store, bid_file};
use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;
use uuid::Uuid;
use workflow::store::entities::document;

/// An unreferenced object older than the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// Key relative to the store's prefix (as a row would hold it).
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// What a pass found (and removed).
#[derive(Debug, Default)]
pub struct Report {
    /// Objects listed.
    pub scanned: usize,
    /// Objects some row references.
    pub referenced: usize,
    /// Unreferenced but younger than the threshold: kept.
    pub young: usize,
    /// Keys sua does not write: kept.
    pub foreign: usize,
    /// Unreferenced and older than the threshold.
    pub orphans: Vec<Orphan>,
    /// With `delete`: orphans removed and their bytes.
    pub deleted: usize,
    pub deleted_bytes: u64,
}

/// Whether `key` (relative to the prefix) has the shape of an object sua writes.
fn is_ours(key: &str) -> bool {
    if let Some(stem) = key.strip_suffix(".sealed") {
        return Uuid::parse_str(stem).is_ok()
            || (stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let parts: Vec<&str> = key.split('/').collect();
    matches!(
        parts.as_slice(),
        ["documents", "request" | "tender", owner, id]
            if Uuid::parse_str(owner).is_ok() && Uuid::parse_str(id).is_ok()
    )
}

/// The keys the database references.
async fn referenced<C: ConnectionTrait>(db: &C) -> Result<HashSet<String>, sea_orm::DbErr> {
    let mut keys: HashSet<String> = document::Entity::find()
        .select_only()
        .column(document::Column::StorageKey)
        .filter(document::Column::StorageKey.is_not_null())
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    keys.extend(
        bid_file::Entity::find()
            .select_only()
            .column(bid_file::Column::SealedPath)
            .into_tuple::<String>()
            .all(db)
            .await?,
    );
    Ok(keys)
}

/// A failure of a pass.
#[derive(Debug)]
pub enum GcError {
    /// The store could not be listed or an object deleted: the message names the setting.
    Store(String),
    Db(sea_orm::DbErr),
}

impl std::fmt::Display for GcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GcError::Store(e) => f.write_str(e),
            GcError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for GcError {}

/// The settings that locate the store, for error messages.
fn where_is(s: &DocumentSettings) -> String {
    let prefix = if s.prefix.is_empty() {
        String::new()
    } else {
        format!(", documents.prefix = '{}'", s.prefix)
    };
    match s.backend {
        Backend::Local => format!("documents.dir = '{}'{prefix}", s.dir.display()),
        Backend::S3 => format!(
            "documents.bucket = '{}', documents.endpoint = '{}'{prefix}",
            s.bucket,
            s.endpoint.as_deref().unwrap_or("aws")
        ),
    }
}

/// One pass over `store`: orphans are unreferenced objects whose `last_modified` is at least
/// `older_than` before `now`; with `delete` they are removed.
pub async fn collect<C: ConnectionTrait>(
    settings: &DocumentSettings,
    store: &Store,
    db: &C,
    older_than: Duration,
    now: DateTime<Utc>,
    delete: bool,
) -> Result<Report, GcError> {
    let cutoff = now - older_than;
    let prefix = if store.prefix.is_empty() {
        None
    } else {
        Some(object_store::path::Path::from(store.prefix.as_str()))
    };
    let mut listed = Vec::new();
    let mut stream = store.os.list(prefix.as_ref());
    while let Some(m) = stream.next().await {
        let m = m.map_err(|e| {
            GcError::Store(format!(
                "cannot list the document store ({}): {e}",
                where_is(settings)
            ))
        })?;
        listed.push(m);
    }
    let refs = referenced(db).await.map_err(GcError::Db)?;
    let mut r = Report {
        scanned: listed.len(),
        ..Report::default()
    };
    for m in listed {
        let full: &str = m.location.as_ref();
        let key = if store.prefix.is_empty() {
            full
        } else {
            full.strip_prefix(store.prefix.as_str())
                .and_then(|k| k.strip_prefix('/'))
                .unwrap_or(full)
        };
        if refs.contains(key) {
            r.referenced += 1;
        } else if !is_ours(key) {
            r.foreign += 1;
        } else if m.last_modified > cutoff {
            r.young += 1;
        } else {
            r.orphans.push(Orphan {
                key: key.to_owned(),
                size: m.size,
                last_modified: m.last_modified,
            });
        }
    }
    if delete {
        for o in &r.orphans {
            store.delete(&o.key).await.map_err(|e| {
                GcError::Store(format!(
                    "cannot delete '{}' from the document store ({}): {e}",
                    o.key,
                    where_is(settings)
                ))
            })?;
            r.deleted += 1;
            r.deleted_bytes += o.size;
        }
    }
    Ok(r)
}

/// `sua admin documents-gc`: print one line per orphan and a summary.
pub async fn run(
    settings: &crate::config::Settings,
    older_than_hours: u32,
    delete: bool,
) -> anyhow::Result<()> {
    let db = crate::runtime::open_db(settings).await?;
    let docs = &settings.documents;
    let store = Store::open(docs).map_err(|e| anyhow::anyhow!("document store: {e}"))?;
    let r = collect(
        docs,
        &store,
        &db.conn,
        Duration::hours(i64::from(older_than_hours)),
        Utc::now(),
        delete,
    )
    .await?;
    let verb = if delete { "deleted" } else { "orphan" };
    for o in &r.orphans {
        println!(
            "{verb}\t{}\t{} bytes\t{}",
            o.key,
            o.size,
            o.last_modified.to_rfc3339()
        );
    }
    let bytes: u64 = r.orphans.iter().map(|o| o.size).sum();
    println!(
        "{} objects listed in {store:?}: {} referenced, {} unreferenced younger than {older_than_hours} h (kept), {} foreign keys (kept), {} orphans ({bytes} bytes)",
        r.scanned,
        r.referenced,
        r.young,
        r.foreign,
        r.orphans.len()
    );
    if delete {
        println!("deleted {} orphans, {} bytes", r.deleted, r.deleted_bytes);
    } else if !r.orphans.is_empty() {
        println!("dry run: nothing deleted (pass --delete to remove the orphans)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use sea_orm::{ActiveModelTrait, Set};

    async fn put(store: &Store, key: &str, bytes: &[u8]) {
        let mut f = super::super::HashFilter::default();
        let body = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
            bytes::Bytes::copy_from_slice(bytes),
        )]);
        store.put_stream(key, body, 1 << 20, &mut f).await.unwrap();
    }

    use crate::docstore::tests::entries as keys;

    #[test]
    fn only_our_key_shapes() {
        let u = Uuid::now_v7();
        assert!(is_ours(&format!("{u}.sealed")));
        assert!(is_ours(&format!("{}.sealed", "ab".repeat(32))));
        assert!(is_ours(&format!("documents/tender/{u}/{u}")));
        assert!(is_ours(&format!("documents/request/{u}/{u}")));
        for k in [
            "x.sealed".to_owned(),
            format!("documents/other/{u}/{u}"),
            format!("documents/tender/{u}"),
            format!("documents/tender/{u}/{u}/x"),
            ".upload-1.tmp".to_owned(),
            "backups/db.sql".to_owned(),
        ] {
            assert!(!is_ours(&k), "{k}");
        }
    }

    /// Referenced objects are kept, a young orphan is kept, an old orphan is listed by the dry run
    /// and removed by `delete`; foreign keys are never touched. Also under a key prefix.
    #[tokio::test]
    async fn finds_and_removes_only_old_unreferenced_objects() {
        for prefix in ["", "sua"] {
            let tmp = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", tmp.path().join("t.db").display());
            let db = Db::connect(&url, 2).await.unwrap();
            db.migrate().await.unwrap();
            scenario(&db, &tmp.path().join("docs"), prefix).await;
        }
    }

    /// The same on PostgreSQL (a fresh database); ignored without `SUA_TEST_DATABASE_URL`.
    #[tokio::test]
    #[cfg_attr(
        not(sua_pg),
        ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
    )]
    async fn finds_and_removes_only_old_unreferenced_objects_postgres() {
        let pg = testkit::pg::ScratchPg::create("sua_test").await;
        let db = Db::connect(&pg.url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        scenario(&db, &tmp.path().join("docs"), "sua").await;
        db.conn.close().await.ok();
        pg.drop_db().await;
    }

    async fn scenario(db: &Db, dir: &std::path::Path, prefix: &str) {
        let dir = dir.to_path_buf();
        let settings = DocumentSettings {
            dir: dir.clone(),
            prefix: prefix.into(),
            ..Default::default()
        };
        let store = Store::open(&settings).unwrap();

        let (owner, doc_id, orphan_doc) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let doc_key = format!("documents/tender/{owner}/{doc_id}");
        let orphan_doc_key = format!("documents/tender/{owner}/{orphan_doc}");
        let (file_id, orphan_file) = (Uuid::now_v7(), Uuid::now_v7());
        let file_key = format!("{file_id}.sealed");
        let orphan_file_key = format!("{orphan_file}.sealed");
        put(&store, &doc_key, b"bando").await;
        put(&store, &orphan_doc_key, b"orphan document").await;
        put(&store, &file_key, b"sealed bytes").await;
        put(&store, &orphan_file_key, b"orphan!").await;
        put(&store, "backups/db.sql", b"not ours").await;

        let now = Utc::now();
        document::ActiveModel {
            id: Set(doc_id),
            owner_kind: Set("tender".into()),
            owner_id: Set(owner),
            name: Set("bando.pdf".into()),
            media_type: Set("application/pdf".into()),
            sha256: Set(String::new()),
            size_bytes: Set(5),
            content: Set(Vec::new()),
            storage_key: Set(Some(doc_key.clone())),
            created_at: Set(now),
        }
        .insert(&db.conn)
        .await
        .unwrap();
        bid_file::ActiveModel {
            id: Set(file_id),
            bid_id: Set(Uuid::now_v7()),
            version: Set(1),
            kind: Set("technical".into()),
            name: Set("offerta.pdf".into()),
            media_type: Set("application/pdf".into()),
            sha256: Set(String::new()),
            sealed_path: Set(file_key.clone()),
            plain_len: Set(1),
            sealed_len: Set(12),
            created_at: Set(now),
        }
        .insert(&db.conn)
        .await
        .unwrap();
        let before = keys(&dir);
        assert_eq!(before.len(), 5, "{before:?}");

        // just written: both orphans are young with a 24 h threshold, nothing is deleted
        let day = Duration::hours(24);
        let r = collect(&settings, &store, &db.conn, day, Utc::now(), true)
            .await
            .unwrap();
        assert_eq!((r.scanned, r.referenced, r.young, r.foreign), (5, 2, 2, 1));
        assert!(r.orphans.is_empty());
        assert_eq!(r.deleted, 0);
        assert_eq!(keys(&dir), before);

        // two days later: the dry run lists the two orphans and deletes nothing
        let later = Utc::now() + Duration::hours(48);
        let r = collect(&settings, &store, &db.conn, day, later, false)
            .await
            .unwrap();
        let mut listed: Vec<(String, u64)> =
            r.orphans.iter().map(|o| (o.key.clone(), o.size)).collect();
        listed.sort();
        let mut want = vec![(orphan_doc_key.clone(), 15), (orphan_file_key.clone(), 7)];
        want.sort();
        assert_eq!(listed, want);
        assert_eq!((r.referenced, r.young, r.foreign, r.deleted), (2, 0, 1, 0));
        assert_eq!(keys(&dir), before);

        // --delete removes exactly them
        let r = collect(&settings, &store, &db.conn, day, later, true)
            .await
            .unwrap();
        assert_eq!((r.deleted, r.deleted_bytes), (2, 22));
        assert!(store.exists(&doc_key).await.unwrap());
        assert!(store.exists(&file_key).await.unwrap());
        assert!(!store.exists(&orphan_doc_key).await.unwrap());
        assert!(!store.exists(&orphan_file_key).await.unwrap());
        assert!(store.exists("backups/db.sql").await.unwrap());
        // nothing left to do
        let r = collect(&settings, &store, &db.conn, day, later, true)
            .await
            .unwrap();
        assert_eq!((r.scanned, r.orphans.len(), r.deleted), (3, 0, 0));
    }
}
