//! Fixtures over a running `sua serve`'s HTTP API.

use serde_json::{Value, json};

/// A published open procedure (one lot, CIG `B5A520026C`), as [`publish_open`] leaves it.
#[derive(Debug, Clone)]
pub struct PublishedTender {
    pub request: String,
    pub tender: String,
    pub lot: String,
    /// As the server stored it (it truncates to microseconds).
    pub deadline: chrono::DateTime<chrono::Utc>,
}

/// One JSON call that must answer `expected`; returns the body (panics naming the call otherwise).
async fn expect(
    c: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let mut r = c
        .request(method.clone(), format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    assert_eq!(
        status, expected,
        "{method} {path}: unexpected status, body: {v}"
    );
    v
}

/// The evaluation rules [`publish_open`] gives the first lot of a lowest-price tender (a lowest-price lot below
/// the EU threshold must provide for automatic exclusion, art. 54 c.1): Allegato II.2 method A.
pub static OPEN_LOT_RULES: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| json!({"anomaly": {"method": "A"}}));

/// The evaluation rules [`publish_open`] gives the first lot of a quality-price tender (art. 108 c.7): one
/// technical criterion `c1` of 70 points, 30 economic points on the linear formula.
pub static QUALITY_PRICE_LOT_RULES: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({"technical": {"criteria": [{"id": "c1", "weight": "70"}]},
           "economic": {"max_points": "30", "formula": {"type": "linear"}}})
});

/// On the server at `base`: the municipality (`municipality` token) submits `request`, the buyer
/// (`buyer` token) accepts it into an open procedure, adopts the decision to contract, sets the CIG
/// `B5A520026C` and the evaluation rules [`OPEN_LOT_RULES`] (or [`QUALITY_PRICE_LOT_RULES`]) on the first
/// lot and a deadline 40 days ahead of the real clock, and publishes; the deadline is read back as stored.
pub async fn publish_open(
    c: &reqwest::Client,
    base: &str,
    municipality: &str,
    buyer: &str,
    request: &Value,
) -> PublishedTender {
    use reqwest::Method as M;
    let r = expect(
        c,
        base,
        M::POST,
        "/v1/requests",
        municipality,
        Some(request.clone()),
        201,
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_owned();
    let acc = expect(
        c,
        base,
        M::POST,
        &format!("/v1/requests/{rid}/accept"),
        buyer,
        Some(json!({"procedure_type": "aperta"})),
        201,
    )
    .await;
    let tid = acc["tender_id"].as_str().unwrap().to_owned();
    let tender = format!("/v1/tenders/{tid}");
    let t = expect(c, base, M::GET, &tender, buyer, None, 200).await;
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    let rules = if t["criterion"] == "quality_price" {
        QUALITY_PRICE_LOT_RULES.clone()
    } else {
        OPEN_LOT_RULES.clone()
    };
    let events = format!("{tender}/events");
    let event = |e: &str| Some(json!({"event": e}));
    expect(
        c,
        base,
        M::POST,
        &events,
        buyer,
        event("adopt_decision_to_contract"),
        200,
    )
    .await;
    expect(
        c,
        base,
        M::PATCH,
        &format!("{tender}/lots/{lot}"),
        buyer,
        Some(json!({"cig": "B5A520026C", "evaluation_rules": rules})),
        200,
    )
    .await;
    expect(c, base, M::POST, &events, buyer, event("acquire_cig"), 200).await;
    let deadline = chrono::Utc::now() + chrono::Duration::days(40);
    expect(
        c,
        base,
        M::PATCH,
        &tender,
        buyer,
        Some(json!({"deadline": deadline})),
        200,
    )
    .await;
    expect(c, base, M::POST, &events, buyer, event("publish"), 200).await;
    let t = expect(c, base, M::GET, &tender, buyer, None, 200).await;
    let deadline = serde_json::from_value(t["deadline"].clone()).expect("a published deadline");
    PublishedTender {
        request: rid,
        tender: tid,
        lot,
        deadline,
    }
}
