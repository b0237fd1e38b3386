//! What the platform records when a tender is published, in the publication's transaction, so that the
//! console reads it instead of recomputing it over every tender: the words of its title (the public
//! search: an index lookup per word instead of a `LIKE` over every title) and its place in the year's
//! spend of its Province (the buyer's dashboard: one row per municipality and procedure type instead of
//! a join over every tender and lot). Both are fixed at publication: the title, the municipality, the
//! procedure type and the lots' amounts can only be edited before it.

use crate::error::WResult;
use crate::store::entities::{lot, tender, tender_spend, tender_word};
use chrono::{DateTime, Datelike, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait as _, IntoCondition, Query, SelectStatement},
};
use uuid::Uuid;

/// At most this many words of a search are used.
pub const MAX_SEARCH_WORDS: usize = 6;

/// The facts of a publication that the read models keep.
#[derive(Debug, Clone)]
pub struct Published {
    pub tender_id: Uuid,
    pub province_id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub procedure_type: String,
    pub title: String,
    pub published_at: DateTime<Utc>,
    pub base_amount_cents: i64,
}

impl Published {
    /// A published tender and its lots.
    pub fn of(t: &tender::Model, lots: &[lot::Model]) -> Option<Published> {
        Some(Published {
            tender_id: t.id,
            province_id: t.province_id,
            municipality_id: t.municipality_id,
            procedure_type: t.procedure_type.as_str().to_owned(),
            title: t.title.clone(),
            published_at: t.published_at?,
            base_amount_cents: lots.iter().map(|l| l.base_amount_cents).sum(),
        })
    }
}

/// The words of a text as searched: lower case, the Italian accented vowels folded (`città` → `citta`),
/// split on anything that is not a letter or a digit; each word once, in order.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' => 'a',
            'è' | 'é' | 'ê' => 'e',
            'ì' | 'í' | 'î' => 'i',
            'ò' | 'ó' | 'ô' => 'o',
            'ù' | 'ú' | 'û' => 'u',
            c => c,
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    for w in folded.split(|c: char| !c.is_alphanumeric()) {
        if !w.is_empty() && !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}

/// Record a tender's publication (call it in the transaction that sets `published_at`).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    t: &tender::Model,
    lots: &[lot::Model],
) -> WResult<()> {
    match Published::of(t, lots) {
        Some(p) => Ok(record_facts(db, &p).await?),
        None => Ok(()),
    }
}

/// [`record`] from the facts (the migration that indexed the tenders published before it).
pub async fn record_facts<C: ConnectionTrait>(db: &C, p: &Published) -> Result<(), DbErr> {
    let rows: Vec<tender_word::ActiveModel> = words(&p.title)
        .into_iter()
        .map(|word| tender_word::ActiveModel {
            word: Set(word),
            tender_id: Set(p.tender_id),
        })
        .collect();
    if !rows.is_empty() {
        tender_word::Entity::insert_many(rows)
            .on_conflict_do_nothing()
            .exec(db)
            .await?;
    }
    let year = p.published_at.year();
    let key = format!(
        "{}/{year}/{}/{}",
        p.province_id,
        p.municipality_id
            .map(|m| m.to_string())
            .unwrap_or_else(|| "-".into()),
        p.procedure_type
    );
    // writes are serialised (`Db::write`): read, then insert or add
    match tender_spend::Entity::find_by_id(key.clone())
        .one(db)
        .await?
    {
        Some(row) => {
            let (n, c) = (row.tenders, row.base_amount_cents);
            let mut am: tender_spend::ActiveModel = row.into();
            am.tenders = Set(n + 1);
            am.base_amount_cents = Set(c + p.base_amount_cents);
            am.update(db).await?;
        }
        None => {
            tender_spend::ActiveModel {
                key: Set(key),
                province_id: Set(p.province_id),
                year: Set(year),
                municipality_id: Set(p.municipality_id),
                procedure_type: Set(p.procedure_type.clone()),
                tenders: Set(1),
                base_amount_cents: Set(p.base_amount_cents),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// The year's spend of a Province (`None`: every Province, the platform admin's view).
pub async fn spend<C: ConnectionTrait>(
    db: &C,
    province: Option<Uuid>,
    year: i32,
) -> WResult<Vec<tender_spend::Model>> {
    let mut q = tender_spend::Entity::find().filter(tender_spend::Column::Year.eq(year));
    if let Some(p) = province {
        q = q.filter(tender_spend::Column::ProvinceId.eq(p));
    }
    Ok(q.all(db).await?)
}

/// The words of `text` as prefix ranges of the word index, `[word, next)`: `next` is the word with its
/// last character incremented, so the range holds exactly the words that start with `word` (byte order).
fn prefix_range(word: &str) -> Option<(String, String)> {
    let mut chars: Vec<char> = word.chars().collect();
    let last = chars.pop()?;
    let next = char::from_u32(last as u32 + 1)?;
    chars.push(next);
    Some((word.to_owned(), chars.into_iter().collect()))
}

fn postings(range: &(String, String)) -> SelectStatement {
    Query::select()
        .column(tender_word::Column::TenderId)
        .from(tender_word::Entity)
        .and_where(Expr::col(tender_word::Column::Word).gte(range.0.clone()))
        .and_where(Expr::col(tender_word::Column::Word).lt(range.1.clone()))
        .to_owned()
}

/// The condition on published tenders whose title has, for each word of `text`, a word starting with it
/// (case and accents aside). The rarest word drives the query (its tenders, found in the index); the
/// others are checked on those tenders only. `None` when `text` has no word.
pub async fn title_condition<C: ConnectionTrait>(
    db: &C,
    text: &str,
) -> WResult<Option<sea_orm::Condition>> {
    let ranges: Vec<(String, String)> = words(text)
        .iter()
        .take(MAX_SEARCH_WORDS)
        .filter_map(|w| prefix_range(w))
        .collect();
    if ranges.is_empty() {
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let mut counted = Vec::new();
    for r in ranges {
        let q = Query::select()
            .expr_as(
                Expr::cust("CAST(COUNT(*) AS BIGINT)"),
                sea_orm::sea_query::Alias::new("n"),
            )
            .from_subquery(postings(&r), sea_orm::sea_query::Alias::new("p"))
            .to_owned();
        let n: i64 = match db.query_one_raw(backend.build(&q)).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        counted.push((n, r));
    }
    counted.sort_by_key(|(n, _)| *n);
    let mut c = sea_orm::Condition::all();
    for (i, (_, r)) in counted.iter().enumerate() {
        let cond = if i == 0 {
            Expr::col((tender::Entity, tender::Column::Id))
                .in_subquery(postings(r))
                .into_condition()
        } else {
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(tender_word::Entity)
                    .and_where(
                        Expr::col((tender_word::Entity, tender_word::Column::TenderId))
                            .equals((tender::Entity, tender::Column::Id)),
                    )
                    .and_where(Expr::col(tender_word::Column::Word).gte(r.0.clone()))
                    .and_where(Expr::col(tender_word::Column::Word).lt(r.1.clone()))
                    .to_owned(),
            )
            .into_condition()
        };
        c = c.add(cond);
    }
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_split_and_unique() {
        assert_eq!(
            words("Servizio di MANUTENZIONE n. 123 — città, Città"),
            ["servizio", "di", "manutenzione", "n", "123", "citta"]
        );
        assert!(words(" — ,. ").is_empty());
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_words_that_start_with_it() {
        let (lo, hi) = prefix_range("123").unwrap();
        for w in ["123", "1230", "123z"] {
            assert!(w >= lo.as_str() && w < hi.as_str(), "{w}");
        }
        for w in ["122", "124", "12", "13"] {
            assert!(!(w >= lo.as_str() && w < hi.as_str()), "{w}");
        }
    }
}
