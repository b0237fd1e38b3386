//! Public, unauthenticated endpoints: published tenders and their outcomes. These are the read paths a
//! busy deadline day hits, so they run two indexed queries per page, never touch bids, and keep the
//! rendered JSON of recent answers in a small in-process cache ([`PublicCache`]).
//!
//! The cache holds only what these handlers render for the public (no caller-dependent content: the
//! public view never shows invitees, and invitation-only tenders are never listed or found here). An
//! entry is served only while both hold:
//! - no write transaction has committed in this process since it was read: [`crate::db::WriteTxn::commit`]
//!   bumps the cache's generation, so a publication, a state change or a revocation made through this
//!   process is visible to the very next request;
//! - it was read less than [`TTL`] (1 s) ago: the bound for writes this process cannot see (another
//!   `sua serve` replica on the same PostgreSQL, a manual change in the database).

use crate::{
    db::entities::{lot, tender},
    error::{ApiResult, AppError, Page, PageQuery, Problem},
    state::AppState,
};
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::access::{lots_of, publicly_visible};
use workflow::views::{TenderView, tender_view};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_tenders))
        .routes(routes!(public_tender))
}

/// The longest a cached public answer (or the list's `total`) is served after it was read from the
/// database. Writes committed by this process invalidate at once; this bounds what other processes write.
pub const TTL: Duration = Duration::from_secs(1);

/// Past this many bytes of cached bodies the cache starts over (a few hundred list pages or tender pages).
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// What a cached answer answers: the normalized query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    List { page: u64, per_page: u64 },
    Tender(Uuid),
}

/// When and under which generation something was read from the database.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    generation: u64,
    at: Instant,
}

#[derive(Default)]
struct Inner {
    /// The generation every entry of `entries` was read under (older ones are dropped on insert).
    generation: u64,
    entries: HashMap<Key, (Instant, Bytes)>,
    bytes: usize,
    /// The public list's total: (read at, generation, total).
    total: Option<(Instant, u64, u64)>,
}

/// The cache of rendered public answers; one per [`crate::db::Db`], shared by its clones. Its generation
/// is the database's count of committed writes.
#[derive(Default)]
pub struct PublicCache {
    generation: Arc<AtomicU64>,
    inner: Mutex<Inner>,
    /// One read of the database at a time per answer: after a write, the requests for the same answer
    /// wait for the first one's read and take its result from the cache, instead of all reading at once.
    fills: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

impl PublicCache {
    /// A cache that is stale whenever `writes` (the database's count of committed writes) moves.
    pub fn new(writes: Arc<AtomicU64>) -> PublicCache {
        PublicCache {
            generation: writes,
            ..PublicCache::default()
        }
    }

    /// Forget everything read so far (what a committed write does).
    #[cfg(test)]
    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Taken before reading from the database: an answer is cached under the generation current when
    /// its read began, so a write committed during the read makes it stale at once.
    fn stamp(&self) -> Stamp {
        Stamp {
            generation: self.generation.load(Ordering::SeqCst),
            at: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the right to read `key`'s answer from the database (see `fills`).
    async fn fill(&self, key: Key) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut fills = self.fills.lock().unwrap_or_else(|e| e.into_inner());
            if fills.len() >= 4096 {
                fills.retain(|_, l| Arc::strong_count(l) > 1);
            }
            fills.entry(key).or_default().clone()
        };
        lock.lock_owned().await
    }

    fn get(&self, key: &Key) -> Option<Bytes> {
        let current = self.generation.load(Ordering::SeqCst);
        let inner = self.lock();
        if inner.generation != current {
            return None;
        }
        match inner.entries.get(key) {
            Some((at, body)) if at.elapsed() < TTL => Some(body.clone()),
            _ => None,
        }
    }

    fn put(&self, key: Key, stamp: Stamp, body: Bytes) {
        let mut inner = self.lock();
        if stamp.generation != self.generation.load(Ordering::SeqCst) {
            return; // a write committed while this was read
        }
        if inner.generation != stamp.generation || inner.bytes + body.len() > MAX_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
            inner.generation = stamp.generation;
        }
        if body.len() > MAX_BYTES {
            return;
        }
        inner.bytes += body.len();
        if let Some((_, old)) = inner.entries.insert(key, (stamp.at, body)) {
            inner.bytes -= old.len();
        }
    }

    /// The answer for `key`: from the cache, else from `read` (one reader at a time per key; the others
    /// wait and take its result), cached under the generation current when the read began.
    async fn answer<F, Fut>(&self, key: Key, read: F) -> ApiResult<Response>
    where
        F: FnOnce(Stamp) -> Fut,
        Fut: std::future::Future<Output = ApiResult<Bytes>>,
    {
        if let Some(body) = self.get(&key) {
            return Ok(json(body));
        }
        let _fill = self.fill(key).await;
        if let Some(body) = self.get(&key) {
            return Ok(json(body)); // read by the request this one waited for
        }
        let stamp = self.stamp();
        let body = read(stamp).await?;
        self.put(key, stamp, body.clone());
        Ok(json(body))
    }

    /// The cached total of the public list, if read under this generation less than [`TTL`] ago.
    fn total(&self, stamp: Stamp) -> Option<u64> {
        match self.lock().total {
            Some((at, generation, total))
                if generation == stamp.generation && at.elapsed() < TTL =>
            {
                Some(total)
            }
            _ => None,
        }
    }

    fn put_total(&self, stamp: Stamp, total: u64) {
        self.lock().total = Some((stamp.at, stamp.generation, total));
    }
}

fn json(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn render<T: serde::Serialize>(v: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| AppError::Internal(e.into()))
}

/// Published tenders, newest publication first (public). An answer may lag a change made by another
/// server process (replica) by up to 1 s; changes made through this server show at once.
#[utoipa::path(get, path = "/v1/public/tenders", tag = "public",
    params(PageQuery),
    responses((status = 200, body = Page<TenderView>), (status = 422, body = Problem)))]
async fn public_tenders(
    State(st): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let (page, per_page) = q.resolve()?;
    let cache = &st.public_cache;
    cache
        .answer(Key::List { page, per_page }, |stamp| {
            read_list(&st, stamp, page, per_page)
        })
        .await
}

/// A published tender as the public reads it: the tender and, for each draw the platform makes on it, the
/// SHA-256 of the seed committed before the facts the draw decides are known, and the seed once revealed
/// (art. 54 c.2: the evaluation's tie-break and method draw; anyone can check `sha256(seed) == sha256` and
/// replay the draw).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PublicTenderView {
    #[serde(flatten)]
    pub tender: TenderView,
    pub draws: Vec<workflow::draws::SeedView>,
}

/// One published tender with its lots, the commitments of its draws and, once the economic envelopes are
/// open, the evaluation (public). Like the list, it may lag a change made by another server process by up
/// to 1 s.
#[utoipa::path(get, path = "/v1/public/tenders/{id}", tag = "public",
    responses((status = 200, body = PublicTenderView), (status = 404, body = Problem)))]
async fn public_tender(State(st): State<AppState>, Path(id): Path<Uuid>) -> ApiResult<Response> {
    let cache = &st.public_cache;
    cache
        .answer(Key::Tender(id), |_| read_tender(&st, id))
        .await
}

/// The rendered public list page, read from the database (the total from the cache when fresh).
async fn read_list(st: &AppState, stamp: Stamp, page: u64, per_page: u64) -> ApiResult<Bytes> {
    let cache = &st.public_cache;
    let select = workflow::access::public_tenders;
    // the page and (when not cached) the total are read side by side, on two pooled connections
    let rows = select()
        .order_by_desc(tender::Column::PublishedAt)
        .order_by_desc(tender::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(&st.db.conn);
    let (rows, total) = match cache.total(stamp) {
        Some(total) => (rows.await?, total),
        None => {
            let (rows, total) = tokio::try_join!(rows, select().count(&st.db.conn))?;
            cache.put_total(stamp, total);
            (rows, total)
        }
    };
    let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
    let lots = if ids.is_empty() {
        Vec::new()
    } else {
        lot::Entity::find()
            .filter(lot::Column::TenderId.is_in(ids))
            .order_by_asc(lot::Column::Number)
            .all(&st.db.conn)
            .await?
    };
    let items = rows
        .iter()
        .map(|t| {
            let mine: Vec<lot::Model> = lots
                .iter()
                .filter(|l| l.tender_id == t.id)
                .cloned()
                .collect();
            tender_view(t, &mine, false)
        })
        .collect();
    render(&Page {
        items,
        page,
        per_page,
        total,
    })
}

/// The rendered public page of a tender, read from the database; 404 unless it is publicly visible.
async fn read_tender(st: &AppState, id: Uuid) -> ApiResult<Bytes> {
    // not found (or not public) is never cached: it is cheap, and caching it would let anyone fill the cache
    // the tender and its lots are read side by side, on two pooled connections
    let (t, lots, draws) = tokio::try_join!(
        async { Ok(tender::Entity::find_by_id(id).one(&st.db.conn).await?) },
        lots_of(&st.db.conn, id),
        workflow::draws::of_tender(&st.db.conn, id),
    )?;
    let t = t
        .filter(|t| publicly_visible(t, None))
        .ok_or(AppError::NotFound("tender"))?;
    render(&PublicTenderView {
        tender: tender_view(&t, &lots, false),
        draws,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Bytes {
        Bytes::from(s.to_owned())
    }

    #[test]
    fn an_answer_is_served_until_a_write_commits() {
        let c = PublicCache::default();
        let k = Key::List {
            page: 1,
            per_page: 20,
        };
        assert_eq!(c.get(&k), None);
        c.put(k, c.stamp(), body("a"));
        assert_eq!(c.get(&k), Some(body("a")));
        assert_eq!(c.get(&Key::Tender(Uuid::nil())), None);
        c.invalidate();
        assert_eq!(c.get(&k), None, "a write makes every answer stale");
        c.put(k, c.stamp(), body("b"));
        assert_eq!(c.get(&k), Some(body("b")));
    }

    #[test]
    fn an_answer_read_across_a_write_is_not_cached() {
        let c = PublicCache::default();
        let k = Key::Tender(Uuid::nil());
        let before = c.stamp();
        c.invalidate(); // committed while the handler was reading
        c.put(k, before, body("old"));
        assert_eq!(c.get(&k), None);
        let t = c.stamp();
        c.put_total(before, 7);
        assert_eq!(c.total(t), None, "a total read before the write is stale");
        c.put_total(t, 8);
        assert_eq!(c.total(t), Some(8));
    }

    #[test]
    fn answers_expire_after_the_ttl() {
        let c = PublicCache::default();
        let k = Key::Tender(Uuid::nil());
        let mut old = c.stamp();
        old.at -= TTL;
        c.put(k, old, body("x"));
        assert_eq!(c.get(&k), None, "read {TTL:?} ago: not served");
        c.put_total(old, 3);
        assert_eq!(c.total(c.stamp()), None);
    }

    #[test]
    fn the_cache_stays_under_its_byte_limit() {
        let c = PublicCache::default();
        let big = Bytes::from(vec![b' '; MAX_BYTES / 3]);
        for i in 0..10u128 {
            c.put(Key::Tender(Uuid::from_u128(i)), c.stamp(), big.clone());
            assert!(c.lock().bytes <= MAX_BYTES);
        }
        c.put(
            Key::Tender(Uuid::nil()),
            c.stamp(),
            Bytes::from(vec![0; MAX_BYTES + 1]),
        );
        assert_eq!(c.get(&Key::Tender(Uuid::nil())), None);
        assert!(c.lock().bytes <= MAX_BYTES);
    }

    #[tokio::test]
    async fn one_database_read_at_a_time_per_answer() {
        let c = Arc::new(PublicCache::default());
        let k = Key::Tender(Uuid::nil());
        let first = c.fill(k).await;
        let c2 = c.clone();
        let waiter = tokio::spawn(async move {
            let _fill = c2.fill(k).await;
            c2.get(&k)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "the second request waits for the first read"
        );
        drop(c.fill(Key::Tender(Uuid::from_u128(1))).await); // another answer is not held up
        c.put(k, c.stamp(), body("read once"));
        drop(first);
        assert_eq!(waiter.await.unwrap(), Some(body("read once")));
    }

    /// Through the whole router on a real SQLite file: what the public endpoints answer follows every
    /// committed write at once, a change made behind the server's back shows within [`TTL`], and a tender
    /// that stops being public is not served from the cache.
    #[tokio::test]
    async fn public_answers_follow_writes() {
        use crate::db::{
            Db,
            entities::{lot, province, tender},
        };
        use axum::{body::to_bytes, http::Request};
        use chrono::Utc;
        use sea_orm::{ActiveModelTrait, Set};
        use tower::ServiceExt;

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let db = Db::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let app = crate::api::app(AppState::new(
            db.clone(),
            std::sync::Arc::new(crate::clock::OffsetClock::default()),
            std::sync::Arc::new(crate::config::Settings::default()),
        ));
        let get = |path: String| {
            let app = app.clone();
            async move {
                let r = app
                    .oneshot(Request::get(&path).body(axum::body::Body::empty()).unwrap())
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let ct = r.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body = to_bytes(r.into_body(), 1 << 20).await.unwrap();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                (status, ct, v)
            }
        };
        let now = crate::audit::truncate_micros(Utc::now());
        let p = Uuid::now_v7();
        let publish = |title: &str| {
            let id = Uuid::now_v7();
            let t = tender::ActiveModel {
                id: Set(id),
                province_id: Set(p),
                municipality_id: Set(None),
                request_id: Set(None),
                title: Set(title.into()),
                contract_type: Set("services".into()),
                procedure_type: Set(lifecycle::ProcedureType::Aperta.into()),
                criterion: Set(lifecycle::AwardCriterion::LowestPrice.into()),
                state: Set(lifecycle::tender::TenderState::Open.into()),
                deadline: Set(Some(now + chrono::Duration::days(40))),
                published_at: Set(Some(now)),
                invitees_json: Set("[]".into()),
                facts_json: Set("{}".into()),
                created_at: Set(now),
                updated_at: Set(now),
                service_nature: Set(None),
                decision_at: Set(None),
            };
            let l = lot::ActiveModel {
                id: Set(Uuid::now_v7()),
                tender_id: Set(id),
                number: Set(1),
                title: Set("Lotto unico".into()),
                cig: Set(None),
                base_amount_cents: Set(100_000),
                state: Set(lifecycle::lot::LotState::Pending.into()),
                evaluation_json: Set(None),
                awardee_bid_id: Set(None),
                standstill_end: Set(None),
                facts_json: Set("{}".into()),
                updated_at: Set(now),
                labour_costs_cents: Set(0),
                safety_costs_cents: Set(0),
                options_cents: Set(0),
                renewals_cents: Set(0),
                evaluation_rules_json: Set(None),
                pcp_json: Set("{}".into()),
            };
            (id, t, l)
        };
        // one column of a tender, changed
        let set = |id: Uuid, col: &str, value: &str| {
            let mut t = tender::ActiveModel {
                id: sea_orm::ActiveValue::Unchanged(id),
                ..Default::default()
            };
            match col {
                "title" => t.title = Set(value.into()),
                _ => {
                    t.procedure_type =
                        Set(value.parse::<lifecycle::ProcedureType>().unwrap().into())
                }
            }
            t
        };
        let w = db.write(workflow::store::Scope::Platform).await.unwrap();
        province::ActiveModel {
            id: Set(p),
            code: Set("PB".into()),
            name: Set("Provincia di Prova".into()),
            created_at: Set(now),
        }
        .insert(&w.txn)
        .await
        .unwrap();
        let (a, t, l) = publish("Gara A");
        t.insert(&w.txn).await.unwrap();
        l.insert(&w.txn).await.unwrap();
        w.commit().await.unwrap();

        let list = || get("/v1/public/tenders?per_page=20".to_owned());
        let page = |id: Uuid| get(format!("/v1/public/tenders/{id}"));
        let (status, ct, v) = list().await;
        assert_eq!((status, ct.as_str()), (200, "application/json"));
        assert_eq!(
            (v["total"].clone(), v["items"][0]["title"].clone()),
            (1.into(), "Gara A".into())
        );
        assert_eq!(page(a).await.2["title"], "Gara A");
        assert_eq!(page(a).await.2["lots"][0]["base_amount"], "1000.00");

        // a second publication and a change, committed through the server's write path: seen at once
        let w = db.write(workflow::store::Scope::Platform).await.unwrap();
        let (b, t, l) = publish("Gara B");
        t.insert(&w.txn).await.unwrap();
        l.insert(&w.txn).await.unwrap();
        set(a, "title", "Gara A (rettificata)")
            .update(&w.txn)
            .await
            .unwrap();
        w.commit().await.unwrap();
        let v = list().await.2;
        assert_eq!(v["total"], 2, "{v}");
        let titles: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        assert!(
            titles.contains(&"Gara B") && titles.contains(&"Gara A (rettificata)"),
            "{titles:?}"
        );
        assert_eq!(page(a).await.2["title"], "Gara A (rettificata)");
        assert_eq!(page(b).await.1, "application/json");

        // a tender turned into an invitation-only procedure is no longer public: gone from both answers
        let w = db.write(workflow::store::Scope::Platform).await.unwrap();
        set(b, "procedure_type", "negoziata_senza_bando")
            .update(&w.txn)
            .await
            .unwrap();
        w.commit().await.unwrap();
        assert_eq!(page(b).await.0, 404);
        let v = list().await.2;
        assert_eq!(
            (v["total"].clone(), v["items"].as_array().unwrap().len()),
            (1.into(), 1)
        );

        // a change behind the server's back (another replica): the cached answers last at most TTL
        assert_eq!(page(a).await.2["title"], "Gara A (rettificata)");
        set(a, "title", "Gara A bis")
            .update(&db.conn)
            .await
            .unwrap();
        assert_eq!(
            page(a).await.2["title"],
            "Gara A (rettificata)",
            "served from the cache"
        );
        tokio::time::sleep(TTL + Duration::from_millis(50)).await;
        assert_eq!(page(a).await.2["title"], "Gara A bis");
        assert_eq!(list().await.2["items"][0]["title"], "Gara A bis");
    }
}
