//! Issue 9 over HTTP: the operator register (applications, admission, suspension, removal), the draw of
//! invitees (recorded, replayable, secret until the deadline), rotation with motivated overrides, market
//! surveys, direct-award checks and per-operator counters.

use crate::both_backends;
use crate::helpers::*;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// A refusal: the status, a problem document, and (for 422) the field it names.
fn refused(r: &(u16, Value), status: u16, field: Option<&str>) -> Value {
    assert_eq!(r.0, status, "unexpected status, body: {}", r.1);
    assert_eq!(r.1["status"], status, "not a problem document: {}", r.1);
    assert!(
        r.1["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        r.1
    );
    if let Some(f) = field {
        assert_eq!(r.1["field"], f, "{}", r.1);
    }
    r.1.clone()
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(s)
        .collect()
}

/// A valid 11-digit numeric codice fiscale, distinct for each `n`.
fn cf(n: u32) -> String {
    let body = format!("{:07}{:03}", 1_000_000 + n, 1 + n % 100);
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, dd) if dd > 9 => dd - 9,
            (_, dd) => dd,
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub(crate) struct World {
    pub(crate) admin: String,
    pub(crate) province: String,
    pub(crate) buyer: String,
    pub(crate) other_buyer: String,
    pub(crate) comune: String,
    pub(crate) municipality: String,
}

pub(crate) async fn world(app: &TestApp) -> World {
    let (okc, admin) = app.cli(&["admin", "create-token", "--role", "platform_admin"]);
    assert!(okc, "{admin}");
    let admin = admin.lines().last().unwrap().to_owned();
    let p = ok(
        &app.post(
            "/v1/provinces",
            Some(&admin),
            &json!({"code": "VM", "name": "Provincia di Valmarina"}),
        )
        .await,
        201,
    );
    let p2 = ok(
        &app.post(
            "/v1/provinces",
            Some(&admin),
            &json!({"code": "XX", "name": "Altra Provincia"}),
        )
        .await,
        201,
    );
    let m = ok(&app.post("/v1/municipalities", Some(&admin), &json!({"province_id": p["id"], "name": "Comune di Castelrupe", "codice_fiscale": "00430120048"})).await, 201);
    let token = |role: &str, org: &Value| json!({"role": role, "org": org});
    let buyer = s(&ok(
        &app.post("/v1/tokens", Some(&admin), &token("sua_buyer", &p["id"]))
            .await,
        201,
    )["token"]);
    let other_buyer = s(&ok(
        &app.post("/v1/tokens", Some(&admin), &token("sua_buyer", &p2["id"]))
            .await,
        201,
    )["token"]);
    let municipality = s(&ok(
        &app.post("/v1/tokens", Some(&admin), &token("municipality", &m["id"]))
            .await,
        201,
    )["token"]);
    World {
        admin,
        province: s(&p["id"]),
        buyer,
        other_buyer,
        comune: s(&m["id"]),
        municipality,
    }
}

/// Registers operator `n`: (id, bidder token).
pub(crate) async fn operator(app: &TestApp, n: u32) -> (String, String) {
    let code = cf(n);
    let r = ok(
        &app.post("/v1/operators", None, &json!({"name": format!("Operatore {n} srl"), "codice_fiscale": code, "pec": format!("op{n}@pec.it")})).await,
        201,
    );
    (s(&r["operator"]["id"]), s(&r["token"]))
}

fn in_a_year() -> String {
    (Utc::now() + Duration::days(365)).date_naive().to_string()
}

/// Operator `n` applies in `category` and the buyer admits it: (operator id, token, listing id).
async fn listed(app: &TestApp, w: &World, n: u32, category: &str) -> (String, String, String) {
    let (id, tok) = operator(app, n).await;
    let l = ok(
        &app.post("/v1/register/applications", Some(&tok), &json!({"province_id": w.province, "category": category, "territories": ["ITC1"], "expires_on": in_a_year()})).await,
        201,
    );
    let lid = s(&l["id"]);
    ok(
        &app.post(
            &format!("/v1/register/listings/{lid}/admit"),
            Some(&w.buyer),
            &json!({}),
        )
        .await,
        200,
    );
    (id, tok, lid)
}

/// A draft negotiated procedure for services of 180,000 euro (art. 50 c.1 lett. e: at least 5 invitees).
pub(crate) async fn negotiated_tender(app: &TestApp, w: &World) -> String {
    let t = ok(
        &app.post(
            "/v1/tenders",
            Some(&w.buyer),
            &json!({
                "title": "Servizio di manutenzione del verde 2027",
                "contract_type": "services",
                "procedure_type": "negoziata_senza_bando",
                "criterion": "lowest_price",
                "municipality_id": w.comune,
                "lots": [{"title": "Lotto unico", "base_amount": "180000.00"}]
            }),
        )
        .await,
        201,
    );
    s(&t["id"])
}

/// The token of the first drawn operator.
fn invited_token<'a>(tokens: &'a [String], admitted: &[String], invited: &[String]) -> &'a String {
    &tokens[admitted.iter().position(|a| *a == invited[0]).unwrap()]
}

fn draw_body(n: usize) -> Value {
    json!({"category": "77", "invitees": n, "motivation": "Elenco numeroso: sorteggio motivato per garantire parità di trattamento", "territory": "ITC11"})
}

both_backends!(
    listing_lifecycle_with_reasons_and_refusals,
    |app: TestApp| async move {
        let w = world(&app).await;
        let spec = ok(&app.get("/openapi.json", None).await, 200);
        for path in [
            "/v1/register/applications",
            "/v1/tenders/{id}/invitations/draw",
            "/v1/direct-awards/check",
            "/v1/register/operators/{id}/counters",
        ] {
            assert!(
                spec["paths"][path].is_object(),
                "{path} missing from the OpenAPI document"
            );
        }
        let (a, ta) = operator(&app, 1).await;
        let (_b, tb) = operator(&app, 2).await;
        let apply = |cat: &str| json!({"province_id": w.province, "category": cat, "territories": ["national"], "expires_on": in_a_year()});

        // refusals name the field
        let mut bad = apply("90");
        bad["soa_class"] = json!("II");
        refused(
            &app.post("/v1/register/applications", Some(&ta), &bad).await,
            422,
            Some("soa_class"),
        );
        refused(
            &app.post("/v1/register/applications", Some(&ta), &apply("OG99"))
                .await,
            422,
            Some("category"),
        );
        let mut bad = apply("OG1");
        bad["soa_class"] = json!("IX");
        refused(
            &app.post("/v1/register/applications", Some(&ta), &bad).await,
            422,
            Some("soa_class"),
        );
        let mut bad = apply("90");
        bad["expires_on"] = json!(Utc::now().date_naive().to_string());
        refused(
            &app.post("/v1/register/applications", Some(&ta), &bad).await,
            422,
            Some("expires_on"),
        );
        let mut bad = apply("90");
        bad["territories"] = json!(["ITC1", "FR10"]);
        refused(
            &app.post("/v1/register/applications", Some(&ta), &bad).await,
            422,
            Some("territories[1]"),
        );
        bad["territories"] = json!([]);
        refused(
            &app.post("/v1/register/applications", Some(&ta), &bad).await,
            422,
            Some("territories"),
        );
        let mut bad = apply("90");
        bad["province_id"] = json!(Uuid::now_v7());
        refused(
            &app.post("/v1/register/applications", Some(&ta), &bad).await,
            422,
            Some("province_id"),
        );
        refused(
            &app.post("/v1/register/applications", Some(&w.buyer), &apply("90"))
                .await,
            403,
            None,
        );
        assert_eq!(
            app.post("/v1/register/applications", None, &apply("90"))
                .await
                .0,
            401
        );

        // a works listing with its SOA class, and a services one
        let works = ok(
            &app.post("/v1/register/applications", Some(&ta), &{
                let mut b = apply("OG1");
                b["soa_class"] = json!("III-bis");
                b
            })
            .await,
            201,
        );
        assert_eq!(works["soa_class"], "III-bis");
        let l = ok(
            &app.post("/v1/register/applications", Some(&ta), &apply("90"))
                .await,
            201,
        );
        let lid = s(&l["id"]);
        assert_eq!(l["status"], "applied");
        assert_eq!(l["operator_id"], a.as_str());
        assert_eq!(l["territories"], json!(["national"]));
        refused(
            &app.post("/v1/register/applications", Some(&ta), &apply("90"))
                .await,
            409,
            None,
        );

        // who sees what
        let list = ok(
            &app.get("/v1/register/listings?category=90", Some(&w.buyer))
                .await,
            200,
        );
        assert_eq!(list["total"], 1, "{list}");
        assert_eq!(
            ok(
                &app.get("/v1/register/listings", Some(&w.other_buyer)).await,
                200
            )["total"],
            0
        );
        assert_eq!(
            ok(&app.get("/v1/register/listings", Some(&ta)).await, 200)["total"],
            2
        );
        assert_eq!(
            ok(&app.get("/v1/register/listings", Some(&tb)).await, 200)["total"],
            0
        );
        assert_eq!(
            app.get(&format!("/v1/register/listings/{lid}"), Some(&tb))
                .await
                .0,
            404
        );
        assert_eq!(
            app.get(&format!("/v1/register/listings/{lid}"), Some(&ta))
                .await
                .0,
            200
        );
        assert_eq!(
            app.get("/v1/register/listings", Some(&w.municipality))
                .await
                .0,
            403
        );
        refused(
            &app.get("/v1/register/listings?status=limbo", Some(&w.buyer))
                .await,
            422,
            Some("status"),
        );

        // only the buyers of the Province change a listing
        let admit = format!("/v1/register/listings/{lid}/admit");
        assert_eq!(
            app.post(&admit, Some(&w.other_buyer), &json!({})).await.0,
            404
        );
        assert_eq!(app.post(&admit, Some(&ta), &json!({})).await.0, 403);
        let l = ok(&app.post(&admit, Some(&w.buyer), &json!({})).await, 200);
        assert_eq!(l["status"], "admitted");
        assert_eq!(l["status_on"], Utc::now().date_naive().to_string());
        refused(
            &app.post(&admit, Some(&w.buyer), &json!({})).await,
            409,
            None,
        );

        // suspension needs a reason; readmission; removal is final
        let suspend = format!("/v1/register/listings/{lid}/suspend");
        refused(
            &app.post(&suspend, Some(&w.buyer), &json!({"reason": "   "}))
                .await,
            422,
            Some("reason"),
        );
        let l = ok(
            &app.post(
                &suspend,
                Some(&w.buyer),
                &json!({"reason": "DURC irregolare"}),
            )
            .await,
            200,
        );
        assert_eq!(
            (l["status"].clone(), l["reason"].clone()),
            (json!("suspended"), json!("DURC irregolare"))
        );
        refused(
            &app.post(&suspend, Some(&w.buyer), &json!({"reason": "di nuovo"}))
                .await,
            409,
            None,
        );
        let exp = (Utc::now() + Duration::days(730)).date_naive().to_string();
        let l = ok(
            &app.post(&admit, Some(&w.buyer), &json!({"expires_on": exp}))
                .await,
            200,
        );
        assert_eq!(
            (l["status"].clone(), l["expires_on"].clone()),
            (json!("admitted"), json!(exp))
        );
        let remove = format!("/v1/register/listings/{lid}/remove");
        refused(
            &app.post(&remove, Some(&w.buyer), &json!({"reason": ""}))
                .await,
            422,
            Some("reason"),
        );
        let l = ok(
            &app.post(
                &remove,
                Some(&w.buyer),
                &json!({"reason": "Falsa dichiarazione accertata"}),
            )
            .await,
            200,
        );
        assert_eq!(l["status"], "removed");
        refused(
            &app.post(&admit, Some(&w.buyer), &json!({})).await,
            409,
            None,
        );
        refused(
            &app.post(&suspend, Some(&w.buyer), &json!({"reason": "x"}))
                .await,
            409,
            None,
        );
        // after a removal the operator may apply again (a new listing)
        let again = ok(
            &app.post("/v1/register/applications", Some(&ta), &apply("90"))
                .await,
            201,
        );
        assert_ne!(again["id"], l["id"]);

        // reminders: a listing expiring in 20 days is owed the 30-day reminder
        let soon = (Utc::now() + Duration::days(20)).date_naive().to_string();
        let l2 = ok(&app.post("/v1/register/applications", Some(&tb), &json!({"province_id": w.province, "category": "90", "territories": ["ITC1"], "expires_on": soon})).await, 201);
        ok(
            &app.post(
                &format!("/v1/register/listings/{}/admit", s(&l2["id"])),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        let due = ok(
            &app.get("/v1/register/reminders", Some(&w.buyer)).await,
            200,
        );
        let due = due.as_array().unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(
            (due[0]["listing_id"].clone(), due[0]["days_before"].clone()),
            (l2["id"].clone(), json!(30))
        );
        assert_eq!(
            ok(
                &app.get("/v1/register/reminders", Some(&w.other_buyer))
                    .await,
                200
            ),
            json!([])
        );

        // every change is in the audit chain
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
    }
);

both_backends!(
    draw_is_recorded_replayable_and_secret_until_the_deadline,
    |app: TestApp| async move {
        let w = world(&app).await;
        // six admitted operators in CPV division 77 (ITC1 covers the tender's ITC11); one suspended, one only
        // applied, one listed for another area: not eligible
        let mut admitted = Vec::new();
        let mut tokens = Vec::new();
        for n in 1..=6 {
            let (id, tok, _) = listed(&app, &w, n, "77").await;
            admitted.push(id);
            tokens.push(tok);
        }
        let (suspended, _, sl) = listed(&app, &w, 7, "77").await;
        ok(
            &app.post(
                &format!("/v1/register/listings/{sl}/suspend"),
                Some(&w.buyer),
                &json!({"reason": "Verifica in corso"}),
            )
            .await,
            200,
        );
        let (applied, ta) = operator(&app, 8).await;
        ok(&app.post("/v1/register/applications", Some(&ta), &json!({"province_id": w.province, "category": "77", "territories": ["ITC1"], "expires_on": in_a_year()})).await, 201);
        let (elsewhere, te) = operator(&app, 9).await;
        let l = ok(&app.post("/v1/register/applications", Some(&te), &json!({"province_id": w.province, "category": "77", "territories": ["ITF3"], "expires_on": in_a_year()})).await, 201);
        ok(
            &app.post(
                &format!("/v1/register/listings/{}/admit", s(&l["id"])),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        let (outsider, t_out) = operator(&app, 10).await;

        let tid = negotiated_tender(&app, &w).await;
        let draw = format!("/v1/tenders/{tid}/invitations/draw");

        // refusals, nothing stored
        let mut b = draw_body(5);
        b["motivation"] = json!(" ");
        refused(
            &app.post(&draw, Some(&w.buyer), &b).await,
            422,
            Some("motivation"),
        );
        let r = refused(
            &app.post(&draw, Some(&w.buyer), &draw_body(4)).await,
            422,
            Some("invitees"),
        );
        assert!(s(&r["detail"]).contains("minimum"), "{r}");
        let r = refused(
            &app.post(&draw, Some(&w.buyer), &draw_body(7)).await,
            409,
            None,
        );
        assert!(
            s(&r["detail"]).contains("6 eligible") && s(&r["detail"]).contains("7 required"),
            "{r}"
        );
        assert!(s(&r["rule"]).contains("art. 50"), "{r}");
        let mut b = draw_body(5);
        b["category"] = json!("OG1");
        refused(
            &app.post(&draw, Some(&w.buyer), &b).await,
            422,
            Some("category"),
        );
        b["category"] = json!("7");
        refused(
            &app.post(&draw, Some(&w.buyer), &b).await,
            422,
            Some("category"),
        );
        assert_eq!(
            app.post(&draw, Some(&w.other_buyer), &draw_body(5)).await.0,
            404
        );
        assert_eq!(
            app.post(&draw, Some(&tokens[0]), &draw_body(5)).await.0,
            404
        );
        assert_eq!(
            app.get(&draw, Some(&w.buyer)).await.0,
            404,
            "no minutes yet"
        );

        // the draw
        let m = ok(&app.post(&draw, Some(&w.buyer), &draw_body(5)).await, 201);
        // the seed is the platform's, committed (SHA-256) when the tender was created, before the candidates
        // were taken; it stays secret, from the buyer too, until the offer deadline
        assert_eq!(m["seed"], Value::Null, "{m}");
        let committed = s(&m["seed_sha256"]);
        assert_eq!(committed.len(), 64, "{m}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&s(&m["seed_committed_at"])).unwrap()
                <= chrono::DateTime::parse_from_rfc3339(&s(&m["created_at"])).unwrap(),
            "committed before the draw: {m}"
        );
        let r = app
            .post(&draw, Some(&w.buyer), &{
                let mut b = draw_body(5);
                b["seed"] = json!("00");
                b
            })
            .await;
        assert_eq!(r.0, 422, "nobody gives a seed: {}", r.1);
        let mut sorted = admitted.clone();
        sorted.sort();
        assert_eq!(
            ids(&m["eligible"]),
            sorted,
            "only admitted, unexpired, territorially covering listings: {m}"
        );
        for not in [&suspended, &applied, &elsewhere, &outsider] {
            assert!(
                !ids(&m["candidates"]).contains(not),
                "{not} is not eligible: {m}"
            );
        }
        let invited = ids(&m["invited"]);
        assert_eq!(invited.len(), 5);
        assert!(invited.iter().all(|i| admitted.contains(i)));
        assert_eq!(m["replays"], true);
        assert_eq!(m["mode"], "draw");
        assert_eq!(m["amount"], "180000.00");
        assert_eq!(m["band"]["band"], "lett_e", "{m}");
        assert!(s(&m["motivation"]).contains("sorteggio"));
        // the tender's invitees are the drawn ones; a second selection is refused
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(ids(&t["invitees"]), invited);
        // the drawn list cannot be replaced by hand afterwards
        let r = refused(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"invitees": [admitted[0]]}),
            )
            .await,
            409,
            None,
        );
        assert!(s(&r["detail"]).contains("minutes"), "{r}");
        refused(
            &app.post(&draw, Some(&w.buyer), &draw_body(5)).await,
            409,
            None,
        );

        // send the invitations with a deadline
        let lot = s(&t["lots"][0]["id"]);
        let deadline = Utc::now() + Duration::days(20);
        ok(
            &app.post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.buyer),
                &json!({"event": "adopt_decision_to_contract"}),
            )
            .await,
            200,
        );
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}/lots/{lot}"),
                Some(&w.buyer),
                &json!({"cig": "B5A520026C", "evaluation_rules": {"anomaly": {"method": "A"}}}),
            )
            .await,
            200,
        );
        ok(
            &app.post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.buyer),
                &json!({"event": "acquire_cig"}),
            )
            .await,
            200,
        );
        // the invitation mails state the deadline: refused before it is set
        let mails = format!("/v1/tenders/{tid}/invitations/mails");
        let letter = json!({"act_type": "determinazione dirigenziale", "act_number": "123", "act_date": Utc::now().date_naive().to_string()});
        refused(
            &app.post(&mails, Some(&w.buyer), &letter).await,
            422,
            Some("letter"),
        );
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"deadline": deadline}),
            )
            .await,
            200,
        );
        refused(
            &app.post(
                &mails,
                Some(&w.buyer),
                &json!({"act_type": " ", "act_number": "1", "act_date": "2026-11-01"}),
            )
            .await,
            422,
            Some("letter.act_type"),
        );
        assert_eq!(app.post(&mails, Some(&w.other_buyer), &letter).await.0, 404);
        assert_eq!(
            app.post(
                &mails,
                Some(invited_token(&tokens, &admitted, &invited)),
                &letter
            )
            .await
            .0,
            404
        );
        // one message per invitee, never twice
        assert_eq!(
            ok(&app.post(&mails, Some(&w.buyer), &letter).await, 200)["enqueued"],
            5
        );
        assert_eq!(
            ok(&app.post(&mails, Some(&w.buyer), &letter).await, 200)["enqueued"],
            5
        );
        let written = app.wait_for_mails(5).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let written_again = app.wait_for_mails(5).await;
        assert_eq!(written_again.len(), 5, "the second request sent nothing");
        let pecs: Vec<String> = invited
            .iter()
            .map(|i| {
                format!(
                    "op{}@pec.it",
                    admitted.iter().position(|a| a == i).unwrap() + 1
                )
            })
            .collect();
        for m in &written {
            let to: Vec<&String> = pecs.iter().filter(|p| m.contains(p.as_str())).collect();
            assert_eq!(to.len(), 1, "each invitation names one invitee only: {m}");
            assert!(m.contains("Invito a presentare offerta"), "{m}");
        }
        for p in &pecs {
            assert!(
                written.iter().any(|m| m.contains(p.as_str())),
                "{p} got no invitation"
            );
        }
        ok(
            &app.post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.buyer),
                &json!({"event": "send_invitations"}),
            )
            .await,
            200,
        );

        // before the deadline: the buyer only (art. 35)
        let inv = format!("/v1/tenders/{tid}/invitations");
        let v = ok(&app.get(&inv, Some(&w.buyer)).await, 200);
        assert_eq!(v["mode"], "draw");
        assert_eq!(v["invited"].as_array().unwrap().len(), 5);
        assert!(
            v["invited"][0]["name"]
                .as_str()
                .unwrap()
                .starts_with("Operatore"),
            "{v}"
        );
        assert_eq!(
            ok(&app.get(&draw, Some(&w.buyer)).await, 200)["seed"],
            Value::Null
        );
        let invited_token = &tokens[admitted.iter().position(|a| *a == invited[0]).unwrap()];
        let not_drawn = admitted.iter().position(|a| !invited.contains(a)).unwrap();
        for path in [&inv, &draw] {
            let r = refused(&app.get(path, Some(invited_token)).await, 403, None);
            assert!(s(&r["detail"]).contains("art. 35"), "{r}");
            refused(&app.get(path, Some(&w.municipality)).await, 403, None);
            assert_eq!(app.get(path, Some(&tokens[not_drawn])).await.0, 404);
            assert_eq!(app.get(path, Some(&t_out)).await.0, 404);
            assert_eq!(app.get(path, None).await.0, 404);
            assert_eq!(app.get(path, Some(&w.other_buyer)).await.0, 404);
        }

        // the tender's own page does not leak them either: before the deadline only the buyer sees them
        let page = format!("/v1/tenders/{tid}");
        assert_eq!(
            ok(&app.get(&page, Some(&w.municipality)).await, 200)["invitees"],
            json!([])
        );
        assert_eq!(
            ok(&app.get(&page, Some(&w.buyer)).await, 200)["invitees"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        let listed = ok(&app.get("/v1/tenders", Some(&w.municipality)).await, 200);
        assert!(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["invitees"] == json!([])),
            "{listed}"
        );

        // after the deadline: the buyer, the tender's staff and the invited; still nobody else
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": deadline + Duration::minutes(1)}),
            )
            .await,
            200,
        );
        let v = ok(&app.get(&inv, Some(invited_token)).await, 200);
        assert_eq!(v["invited"].as_array().unwrap().len(), 5);
        let m2 = ok(&app.get(&draw, Some(invited_token)).await, 200);
        // revealed: sha256(seed) is the commitment, and the draw replays from it
        let seed = s(&m2["seed"]);
        {
            use sha2::Digest;
            let bytes = hex::decode(&seed).unwrap();
            assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), committed);
        }
        assert_eq!(
            (m2["invited"].clone(), m2["replays"].clone()),
            (m["invited"].clone(), json!(true))
        );
        // anyone with the seed and the eligible list replays it with the pure crate
        let mut seed_bytes = [0u8; 32];
        hex::decode_to_slice(&seed, &mut seed_bytes).unwrap();
        let eligible: Vec<register::OperatorId> = ids(&m["eligible"])
            .iter()
            .map(|i| register::OperatorId(i.parse().unwrap()))
            .collect();
        let replay = register::draw(&eligible, 5, seed_bytes).unwrap();
        let replayed: Vec<String> = replay.invited.iter().map(|o| o.to_string()).collect();
        assert_eq!(replayed, invited);
        ok(&app.get(&inv, Some(&w.municipality)).await, 200);
        assert_eq!(
            ok(&app.get(&page, Some(&w.municipality)).await, 200)["invitees"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(app.get(&inv, Some(&tokens[not_drawn])).await.0, 404);
        assert_eq!(app.get(&inv, None).await.0, 404);
        assert_eq!(app.get(&inv, Some(&w.other_buyer)).await.0, 404);

        // counters: each drawn operator has one invitation in the Province and in the municipality
        let c = ok(
            &app.get(
                &format!("/v1/register/operators/{}/counters", invited[0]),
                Some(&w.buyer),
            )
            .await,
            200,
        );
        let rows = c["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{c}");
        assert_eq!(
            (rows[0]["level"].clone(), rows[0]["invitations"].clone()),
            (json!("province"), json!(1))
        );
        assert_eq!(
            (
                rows[1]["level"].clone(),
                rows[1]["id"].clone(),
                rows[1]["invitations"].clone()
            ),
            (json!("municipality"), json!(w.comune), json!(1))
        );
        let c = ok(
            &app.get(
                &format!("/v1/register/operators/{}/counters", admitted[not_drawn]),
                Some(&w.buyer),
            )
            .await,
            200,
        );
        assert_eq!(c["rows"][0]["invitations"], 0);
    }
);

both_backends!(
    rotation_overrides_market_survey_direct_award_and_counters,
    |app: TestApp| async move {
        let w = world(&app).await;
        let mut ops = Vec::new();
        for n in 1..=6 {
            ops.push(listed(&app, &w, n, "77").await.0);
        }
        let outgoing = ops[2].clone();
        // the last award in division 77 for this municipality went to `outgoing` (imported history)
        let past = json!({"operator_id": outgoing, "category": "77", "amount": "150000.00", "awarded_on": (Utc::now() - Duration::days(90)).date_naive().to_string(), "municipality_id": w.comune, "reference": "Det. 12/2026"});
        refused(
            &app.post("/v1/register/awards", Some(&w.buyer), &{
                let mut b = past.clone();
                b["amount"] = json!("1.001");
                b
            })
            .await,
            422,
            Some("amount"),
        );
        refused(
            &app.post("/v1/register/awards", Some(&w.buyer), &{
                let mut b = past.clone();
                b["operator_id"] = json!(Uuid::now_v7());
                b
            })
            .await,
            422,
            Some("operator_id"),
        );
        assert_eq!(
            app.post("/v1/register/awards", Some(&w.municipality), &past)
                .await
                .0,
            403
        );
        ok(
            &app.post("/v1/register/awards", Some(&w.buyer), &past).await,
            201,
        );

        // all six requested: the outgoing contractor is excluded, so only five remain
        let t1 = negotiated_tender(&app, &w).await;
        let draw1 = format!("/v1/tenders/{t1}/invitations/draw");
        let r = refused(
            &app.post(&draw1, Some(&w.buyer), &draw_body(6)).await,
            409,
            None,
        );
        assert!(
            s(&r["detail"]).contains("5 eligible operators after rotation"),
            "{r}"
        );
        // overrides must carry reasons and the RUP's attestation, and only for the outgoing contractor
        let with_override = |o: Value| {
            let mut b = draw_body(6);
            b["overrides"] = json!([o]);
            b
        };
        refused(
            &app.post(
                &draw1,
                Some(&w.buyer),
                &with_override(
                    json!({"operator_id": outgoing, "reason": " ", "quality_attestation": "ok"}),
                ),
            )
            .await,
            422,
            Some("overrides[0].reason"),
        );
        refused(
            &app.post(
                &draw1,
                Some(&w.buyer),
                &with_override(json!({"operator_id": outgoing, "reason": "Mercato ristretto"})),
            )
            .await,
            422,
            Some("overrides[0].quality_attestation"),
        );
        refused(
            &app.post(
                &draw1,
                Some(&w.buyer),
                &with_override(
                    json!({"operator_id": ops[0], "reason": "x", "quality_attestation": "y"}),
                ),
            )
            .await,
            422,
            Some("overrides[0].operator_id"),
        );
        // five: drawn without the outgoing contractor, the exclusion recorded with its article
        let m = ok(&app.post(&draw1, Some(&w.buyer), &draw_body(5)).await, 201);
        assert!(ids(&m["candidates"]).contains(&outgoing));
        assert!(
            !ids(&m["eligible"]).contains(&outgoing) && !ids(&m["invited"]).contains(&outgoing),
            "{m}"
        );
        assert_eq!(m["rotation"]["excluded"][0]["operator"], outgoing.as_str());
        assert!(
            s(&m["rotation"]["excluded"][0]["article"]).contains("art. 49"),
            "{m}"
        );

        // with a motivated override the outgoing contractor is re-invited, the reasons are in the minutes
        let t2 = negotiated_tender(&app, &w).await;
        // a letter without an offer deadline refuses the whole selection: nothing is stored
        let letter =
            json!({"act_type": "determinazione", "act_number": "7", "act_date": "2026-11-02"});
        let mut b = with_override(
            json!({"operator_id": outgoing, "reason": "r", "quality_attestation": "q"}),
        );
        b["letter"] = letter.clone();
        refused(
            &app.post(
                &format!("/v1/tenders/{t2}/invitations/draw"),
                Some(&w.buyer),
                &b,
            )
            .await,
            422,
            Some("letter"),
        );
        let m = ok(&app.post(&format!("/v1/tenders/{t2}/invitations/draw"), Some(&w.buyer), &with_override(json!({"operator_id": outgoing, "reason": "Struttura del mercato: sei operatori nel territorio", "quality_attestation": "Il RUP attesta l'esecuzione a regola d'arte del contratto precedente"}))).await, 201);
        assert!(ids(&m["invited"]).contains(&outgoing), "{m}");
        assert_eq!(
            m["rotation"]["overridden"][0]["reason"],
            "Struttura del mercato: sei operatori nel territorio"
        );

        // market survey: everyone who answered; uncapped survey exempt from rotation (art. 49 c.5)
        let t3 = negotiated_tender(&app, &w).await;
        let deadline = Utc::now() + Duration::days(15);
        ok(
            &app.patch(
                &format!("/v1/tenders/{t3}"),
                Some(&w.buyer),
                &json!({"deadline": deadline}),
            )
            .await,
            200,
        );
        let d3 = format!("/v1/tenders/{t3}/invitations/draw");
        refused(&app.post(&d3, Some(&w.buyer), &json!({"mode": "market_survey", "category": "77", "respondents": [ops[0], ops[1], ops[2]]})).await, 409, None);
        refused(&app.post(&d3, Some(&w.buyer), &json!({"mode": "market_survey", "category": "77", "respondents": [Uuid::now_v7()]})).await, 422, Some("respondents[0]"));
        refused(
            &app.post(
                &d3,
                Some(&w.buyer),
                &json!({"mode": "lottery", "category": "77"}),
            )
            .await,
            422,
            Some("mode"),
        );
        let capped = json!({"mode": "market_survey", "category": "77", "capped": true, "respondents": ops[..5]});
        refused(&app.post(&d3, Some(&w.buyer), &capped).await, 409, None);
        let m = ok(
            &app.post(
                &d3,
                Some(&w.buyer),
                &json!({"mode": "market_survey", "category": "77", "respondents": ops[..5], "letter": letter}),
            )
            .await,
            201,
        );
        assert_eq!(m["invitation_mails"], 5, "{m}");
        assert_eq!(app.wait_for_mails(5).await.len(), 5);
        assert_eq!(m["seed"], Value::Null);
        assert!(ids(&m["invited"]).contains(&outgoing));
        assert!(s(&m["rotation"]["exempt_by"]).contains("c.5"), "{m}");
        assert_eq!(ids(&m["invited"]).len(), 5);

        // direct awards: the band, the reasons, the rotation rule
        let da = |contractor: &str, amount: &str, reasons: &str| json!({"contractor": contractor, "category": "77", "amount": amount, "reasons": reasons, "municipality_id": w.comune});
        let r = refused(
            &app.post(
                "/v1/direct-awards/check",
                Some(&w.buyer),
                &da(&outgoing, "30000.00", "Preventivo migliore"),
            )
            .await,
            409,
            None,
        );
        assert!(s(&r["rule"]).contains("art. 49"), "{r}");
        let small = ok(
            &app.post("/v1/direct-awards/check", Some(&w.buyer), &{
                let mut b = da(&outgoing, "4000.00", "Intervento urgente di modesta entità");
                b["dry_run"] = json!(true);
                b
            })
            .await,
            200,
        );
        assert!(
            s(&small["rotation"]["exempt_by"]).contains("c.6") && small["recorded"] == false,
            "{small}"
        );
        refused(
            &app.post(
                "/v1/direct-awards/check",
                Some(&w.buyer),
                &da(&ops[0], "30000.00", "  "),
            )
            .await,
            422,
            Some("reasons"),
        );
        let r = refused(
            &app.post(
                "/v1/direct-awards/check",
                Some(&w.buyer),
                &da(&ops[0], "200000.00", "x"),
            )
            .await,
            409,
            None,
        );
        assert!(s(&r["rule"]).contains("lett. e"), "{r}");
        refused(
            &app.post(
                "/v1/direct-awards/check",
                Some(&w.buyer),
                &da(&Uuid::now_v7().to_string(), "30000.00", "x"),
            )
            .await,
            422,
            Some("contractor"),
        );
        assert_eq!(
            app.post(
                "/v1/direct-awards/check",
                Some(&w.municipality),
                &da(&ops[0], "30000.00", "x")
            )
            .await
            .0,
            403
        );
        let rec = ok(
            &app.post(
                "/v1/direct-awards/check",
                Some(&w.buyer),
                &da(
                    &ops[0],
                    "30000.00",
                    "Miglior rapporto qualità-prezzo tra tre preventivi",
                ),
            )
            .await,
            201,
        );
        assert_eq!(
            (
                rec["recorded"].clone(),
                rec["award"]["source"].clone(),
                rec["award"]["amount"].clone()
            ),
            (json!(true), json!("direct_award"), json!("30000.00"))
        );
        // now ops[0] is the outgoing contractor and the previous one is not
        refused(
            &app.post(
                "/v1/direct-awards/check",
                Some(&w.buyer),
                &da(&ops[0], "20000.00", "x"),
            )
            .await,
            409,
            None,
        );
        ok(
            &app.post("/v1/direct-awards/check", Some(&w.buyer), &{
                let mut b = da(&outgoing, "20000.00", "x");
                b["dry_run"] = json!(true);
                b
            })
            .await,
            200,
        );

        // counters (buyer of the Province only)
        let c = ok(
            &app.get(
                &format!("/v1/register/operators/{}/counters", ops[0]),
                Some(&w.buyer),
            )
            .await,
            200,
        );
        let p = &c["rows"][0];
        assert_eq!(
            (p["level"].clone(), p["id"].clone()),
            (json!("province"), json!(w.province))
        );
        assert_eq!(
            (
                p["awards"].clone(),
                p["awarded"].clone(),
                p["invitations"].clone()
            ),
            (json!(1), json!("30000.00"), json!(3)),
            "{c}"
        );
        let c = ok(
            &app.get(
                &format!("/v1/register/operators/{outgoing}/counters"),
                Some(&w.buyer),
            )
            .await,
            200,
        );
        assert_eq!(
            (
                c["rows"][0]["awards"].clone(),
                c["rows"][0]["awarded"].clone(),
                c["rows"][0]["invitations"].clone()
            ),
            (json!(1), json!("150000.00"), json!(2)),
            "{c}"
        );
        let future = (Utc::now() + Duration::days(1)).date_naive();
        let c = ok(
            &app.get(
                &format!("/v1/register/operators/{outgoing}/counters?from={future}"),
                Some(&w.buyer),
            )
            .await,
            200,
        );
        assert_eq!(c["rows"][0]["awards"], 0, "{c}");
        refused(
            &app.get(
                &format!("/v1/register/operators/{outgoing}/counters?from={future}&to=2020-01-01"),
                Some(&w.buyer),
            )
            .await,
            422,
            Some("from"),
        );
        let c = ok(
            &app.get(
                &format!("/v1/register/operators/{outgoing}/counters"),
                Some(&w.other_buyer),
            )
            .await,
            200,
        );
        assert_eq!(
            (
                c["rows"][0]["awards"].clone(),
                c["rows"].as_array().unwrap().len()
            ),
            (json!(0), 1)
        );
        assert_eq!(
            app.get(
                &format!("/v1/register/operators/{outgoing}/counters"),
                Some(&w.municipality)
            )
            .await
            .0,
            403
        );
        assert_eq!(
            app.get(
                &format!("/v1/register/operators/{}/counters", Uuid::now_v7()),
                Some(&w.buyer)
            )
            .await
            .0,
            404
        );

        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
    }
);

/// Measurement, not a check (run by hand: `cargo test -p service --release --test api -- --ignored
/// --nocapture http_draw_with_10000_listings`): the HTTP draw against a SQLite register of 10,000 admitted
/// listings, seeded straight into the database. Prints the timings; asserts only the results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check: run by hand with --release -- --ignored --nocapture"]
async fn http_draw_with_10000_listings() {
    use sea_orm::{ActiveValue::Set, Database, EntityTrait};
    use service::api::register::entities::register_listing;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let db = Database::connect(&app.db_url).await.unwrap();
    let province: Uuid = w.province.parse().unwrap();
    let today = Utc::now().date_naive();
    let t0 = std::time::Instant::now();
    for chunk in 0..20 {
        let rows = (0..500).map(|i| register_listing::ActiveModel {
            id: Set(Uuid::now_v7()),
            province_id: Set(province),
            operator_id: Set(Uuid::from_u128(((chunk * 500 + i) as u128) << 64 | 0xbeef)),
            category: Set("77".into()),
            soa_class: Set(None),
            territories_json: Set(r#"["national"]"#.into()),
            status: Set("admitted".into()),
            status_on: Set(Some(today)),
            reason: Set(None),
            expires_on: Set(today + Duration::days(365)),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
        });
        register_listing::Entity::insert_many(rows)
            .exec(&db)
            .await
            .unwrap();
    }
    println!("seeded 10,000 listings in {:?}", t0.elapsed());
    let mut times = Vec::new();
    for _ in 0..10 {
        let tid = negotiated_tender(&app, &w).await;
        let t = std::time::Instant::now();
        let m = ok(
            &app.post(
                &format!("/v1/tenders/{tid}/invitations/draw"),
                Some(&w.buyer),
                &draw_body(10),
            )
            .await,
            201,
        );
        times.push(t.elapsed());
        assert_eq!(m["eligible"].as_array().unwrap().len(), 10_000);
        assert_eq!(m["invited"].as_array().unwrap().len(), 10);
        let t = std::time::Instant::now();
        let r = ok(
            &app.get(
                &format!("/v1/tenders/{tid}/invitations/draw"),
                Some(&w.buyer),
            )
            .await,
            200,
        );
        assert_eq!(r["replays"], true);
        println!("minutes read back with replay check in {:?}", t.elapsed());
    }
    times.sort();
    println!(
        "HTTP draw of 10 among 10,000 listings: min {:?}, median {:?}, max {:?}",
        times[0], times[5], times[9]
    );
}

/// The outbox idempotency keys of the listing-expiry reminders of `listing`, read from the database.
async fn reminder_keys(app: &TestApp, listing: &str) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&app.db_url).await.unwrap();
    let stmt = Statement::from_string(
        db.get_database_backend(),
        format!(
            "SELECT idempotency_key FROM mail_message WHERE idempotency_key LIKE 'listing-reminder:{listing}:%' \
             ORDER BY idempotency_key"
        ),
    );
    let keys = db
        .query_all_raw(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "idempotency_key").unwrap())
        .collect();
    db.close().await.ok();
    keys
}

/// Waits (scheduler passes every second) until the outbox holds the reminder `key`.
async fn wait_for_reminder(app: &TestApp, listing: &str, key: &str) -> Vec<String> {
    for _ in 0..150 {
        let keys = reminder_keys(app, listing).await;
        if keys.iter().any(|k| k == key) {
            return keys;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "reminder {key} never enqueued; outbox holds {:?}",
        reminder_keys(app, listing).await
    );
}

/// (action, before, after) of the audit entries of a listing.
async fn listing_audit(app: &TestApp, listing: &str) -> Vec<(String, Value, Value)> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&app.db_url).await.unwrap();
    let stmt = Statement::from_string(
        db.get_database_backend(),
        format!(
            "SELECT action, before_json, after_json FROM audit_entry \
             WHERE object_kind = 'register_listing' AND object_id = '{listing}' ORDER BY seq"
        ),
    );
    let json = |r: &sea_orm::QueryResult, c: &str| -> Value {
        r.try_get::<Option<String>>("", c)
            .unwrap()
            .map(|s| serde_json::from_str(&s).unwrap())
            .unwrap_or(Value::Null)
    };
    let rows = db
        .query_all_raw(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "action").unwrap(),
                json(r, "before_json"),
                json(r, "after_json"),
            )
        })
        .collect();
    db.close().await.ok();
    rows
}

both_backends!(
    renewal_moves_the_expiry_and_the_reminders_are_owed_again,
    |app: TestApp| async move {
        let w = world(&app).await;
        let spec = ok(&app.get("/openapi.json", None).await, 200);
        assert!(
            spec["paths"]["/v1/register/listings/{id}/renew"]["post"].is_object(),
            "renew missing from the OpenAPI document"
        );
        let today = Utc::now().date_naive();
        let day = |n: i64| (today + Duration::days(n)).to_string();
        let (_a, ta) = operator(&app, 1).await;
        let l = ok(
            &app.post("/v1/register/applications", Some(&ta), &json!({"province_id": w.province, "category": "90", "territories": ["national"], "expires_on": day(20)})).await,
            201,
        );
        let lid = s(&l["id"]);
        let renew = format!("/v1/register/listings/{lid}/renew");
        // applied, not admitted: renewal is refused with the rule
        let r = refused(
            &app.post(&renew, Some(&w.buyer), &json!({"expires_on": day(200)}))
                .await,
            409,
            None,
        );
        assert_eq!(r["rule"], "register.status", "{r}");
        assert!(s(&r["detail"]).contains("applied"), "{r}");
        let admitted = ok(
            &app.post(
                &format!("/v1/register/listings/{lid}/admit"),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        // 20 days to the expiry: the 30-day reminder is owed and the scheduler enqueues it
        let first = format!("listing-reminder:{lid}:{}:30d", day(20));
        wait_for_reminder(&app, &lid, &first).await;

        // refusals: who, and the date (422 naming the field); none changes the listing
        assert_eq!(
            app.post(
                &renew,
                Some(&w.other_buyer),
                &json!({"expires_on": day(200)})
            )
            .await
            .0,
            404
        );
        for tok in [&ta, &w.municipality, &w.admin] {
            refused(
                &app.post(&renew, Some(tok), &json!({"expires_on": day(200)}))
                    .await,
                403,
                None,
            );
        }
        assert_eq!(
            app.post(&renew, None, &json!({"expires_on": day(200)}))
                .await
                .0,
            401
        );
        for body in [
            json!({}),
            json!({"expires_on": day(20)}),
            json!({"expires_on": day(10)}),
            json!({"expires_on": today.to_string()}),
            json!({"expires_on": day(-1)}),
            json!({"expires_on": "2031-02-30"}),
        ] {
            refused(
                &app.post(&renew, Some(&w.buyer), &body).await,
                422,
                Some("expires_on"),
            );
        }
        refused(
            &app.post(
                &renew,
                Some(&w.buyer),
                &json!({"expires_on": day(200), "note": "  "}),
            )
            .await,
            422,
            Some("note"),
        );
        let unchanged = ok(
            &app.get(&format!("/v1/register/listings/{lid}"), Some(&w.buyer))
                .await,
            200,
        );
        assert_eq!(unchanged["expires_on"], day(20).as_str());
        assert_eq!(unchanged["updated_at"], admitted["updated_at"]);

        // the renewal: expires_on moves, the listing stays admitted since the same day
        let renewed = ok(
            &app.post(
                &renew,
                Some(&w.buyer),
                &json!({"expires_on": day(200), "note": "attestazione SOA rinnovata, prot. 1234"}),
            )
            .await,
            200,
        );
        assert_eq!(renewed["expires_on"], day(200).as_str());
        assert_eq!(renewed["status"], "admitted");
        assert_eq!(renewed["status_on"], admitted["status_on"]);
        assert_eq!(
            ok(
                &app.get(&format!("/v1/register/listings/{lid}"), Some(&ta))
                    .await,
                200
            )["expires_on"],
            day(200).as_str()
        );
        // audited, with the note
        let audit = listing_audit(&app, &lid).await;
        let renewals: Vec<_> = audit
            .iter()
            .filter(|(a, _, _)| a == "register.renew")
            .collect();
        assert_eq!(renewals.len(), 1, "{audit:?}");
        let (_, before, after) = renewals[0];
        assert_eq!(before["expires_on"], day(20).as_str());
        assert_eq!(after["expires_on"], day(200).as_str());
        assert_eq!(after["note"], "attestazione SOA rinnovata, prot. 1234");
        // nothing is owed for the new expiry today (200 days away)
        let due = ok(
            &app.get("/v1/register/reminders", Some(&w.buyer)).await,
            200,
        );
        assert!(
            due.as_array()
                .unwrap()
                .iter()
                .all(|r| r["listing_id"] != lid.as_str()),
            "{due}"
        );

        // an operator whose listing will have expired by the moved clock
        let (_c, tc) = operator(&app, 3).await;
        let l3 = ok(
            &app.post("/v1/register/applications", Some(&tc), &json!({"province_id": w.province, "category": "90", "territories": ["national"], "expires_on": day(20)})).await,
            201,
        );
        let lid3 = s(&l3["id"]);
        ok(
            &app.post(
                &format!("/v1/register/listings/{lid3}/admit"),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );

        // 25 days before the new expiry (server clock): its 30-day reminder is owed and enqueued
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": Utc::now() + Duration::days(175)}),
            )
            .await,
            200,
        );
        let due = ok(
            &app.get("/v1/register/reminders", Some(&w.buyer)).await,
            200,
        );
        let mine: Vec<_> = due
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["listing_id"] == lid.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "{due}");
        assert_eq!(
            (
                mine[0]["expires_on"].clone(),
                mine[0]["days_before"].clone()
            ),
            (json!(day(200)), json!(30))
        );
        let second = format!("listing-reminder:{lid}:{}:30d", day(200));
        let keys = wait_for_reminder(&app, &lid, &second).await;
        assert_eq!(keys, vec![first.clone(), second.clone()], "once each");

        // "not in the past" is judged on the server clock: day 150 is after wall today, before the server's
        let r = refused(
            &app.post(
                &format!("/v1/register/listings/{lid3}/renew"),
                Some(&w.buyer),
                &json!({"expires_on": day(150)}),
            )
            .await,
            422,
            Some("expires_on"),
        );
        assert!(s(&r["detail"]).contains("after today"), "{r}");
        // an expired admitted listing can be renewed to a future date
        let r3 = ok(
            &app.post(
                &format!("/v1/register/listings/{lid3}/renew"),
                Some(&w.buyer),
                &json!({"expires_on": day(400)}),
            )
            .await,
            200,
        );
        assert_eq!(r3["expires_on"], day(400).as_str());

        // suspended: readmit instead; removed: final
        ok(
            &app.post(
                &format!("/v1/register/listings/{lid}/suspend"),
                Some(&w.buyer),
                &json!({"reason": "DURC irregolare"}),
            )
            .await,
            200,
        );
        let r = refused(
            &app.post(&renew, Some(&w.buyer), &json!({"expires_on": day(300)}))
                .await,
            409,
            None,
        );
        assert_eq!(r["rule"], "register.status", "{r}");
        assert!(s(&r["detail"]).contains("suspended"), "{r}");
        ok(
            &app.post(
                &format!("/v1/register/listings/{lid}/remove"),
                Some(&w.buyer),
                &json!({"reason": "falsa dichiarazione"}),
            )
            .await,
            200,
        );
        let r = refused(
            &app.post(&renew, Some(&w.buyer), &json!({"expires_on": day(300)}))
                .await,
            409,
            None,
        );
        assert_eq!(r["rule"], "register.status", "{r}");
        assert!(s(&r["detail"]).contains("removed"), "{r}");
        assert_eq!(
            ok(
                &app.get(&format!("/v1/register/listings/{lid}"), Some(&w.buyer))
                    .await,
                200
            )["expires_on"],
            day(200).as_str()
        );
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
    }
);
