//! The audit chain's signed head (issue 20): public at a well-known URL, inside every bid receipt, and
//! checked by `sua audit verify --head`, so removing the newest entries is seen.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::json;

/// Delete the entries of `chain` from `seq` on, as someone with access to the database could.
async fn delete_entries_from(app: &TestApp, chain: &str, seq: u64) {
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect(&app.db_url).await.unwrap();
    db.execute_unprepared(&format!(
        "DELETE FROM audit_entry WHERE chain = '{chain}' AND seq >= {seq}"
    ))
    .await
    .unwrap();
    db.close().await.ok();
}

both_backends!(
    a_saved_head_shows_that_the_newest_entries_were_removed,
    |app: TestApp| async move {
        let w = world(&app).await;
        // public: no token
        let url = format!("/.well-known/sua/audit-head/{}", w.province);
        let (status, head) = app.get(&url, None).await;
        assert_eq!(status, 200, "{head}");
        assert_eq!(head["head"]["format"], "sua-audit-head/1", "{head}");
        assert_eq!(head["head"]["chain"], w.province.as_str());
        assert_eq!(head["head"]["hash"].as_str().unwrap().len(), 64);
        let seq = head["head"]["sequence"].as_u64().unwrap();
        assert!(
            seq >= 1,
            "the world's set-up wrote entries in the Province's chain: {head}"
        );
        let (status, p) = app
            .get(
                "/.well-known/sua/audit-head/0190a7e2-7a3c-7d2e-9b1e-3c1d2e4f5a6b",
                None,
            )
            .await;
        assert_eq!(status, 404, "{p}");

        // a bid receipt carries the head of its Province's chain when it was signed
        let o = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
        let bidder = ok(
            &app.post(
                "/v1/operators",
                None,
                &json!({"name": "Pulizie Alfa srl", "codice_fiscale": "05949241110", "pec": "alfa@pec.it"}),
            )
            .await,
            201,
        )["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let sub = ok(
            &app.post(
                &format!("/v1/lots/{}/bids", o.lot),
                Some(&bidder),
                &json!({"declared_discount": "10"}),
            )
            .await,
            201,
        );
        let in_receipt = &sub["receipt"]["receipt"]["audit_head"];
        assert_eq!(in_receipt["chain"], w.province.as_str(), "{sub}");
        let receipt_seq = in_receipt["sequence"].as_u64().unwrap();
        assert!(receipt_seq > seq, "{sub}");

        // saved heads check out while the chain is whole
        let dir = app.data_dir();
        let head_file = dir.join("head.json");
        std::fs::write(&head_file, head.to_string()).unwrap();
        let receipt_file = dir.join("receipt.json");
        std::fs::write(&receipt_file, sub["receipt"].to_string()).unwrap();
        for f in [&head_file, &receipt_file] {
            let (good, out) = app.cli(&["audit", "verify", "--head", f.to_str().unwrap()]);
            assert!(good, "{out}");
            assert!(out.contains("saved head present"), "{out}");
        }
        // a head whose sequence was edited is refused (signature)
        let mut forged = head.clone();
        forged["head"]["sequence"] = json!(seq + 1000);
        let forged_file = dir.join("forged.json");
        std::fs::write(&forged_file, forged.to_string()).unwrap();
        let (good, out) = app.cli(&["audit", "verify", "--head", forged_file.to_str().unwrap()]);
        assert!(!good, "a forged head is refused: {out}");
        assert!(!out.contains("saved head present"), "{out}");

        // remove the newest entries, from the receipt's head on: the chain alone still looks whole...
        delete_entries_from(&app, &w.province, receipt_seq).await;
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
        // ...the saved head does not
        let (good, out) = app.cli(&["audit", "verify", "--head", receipt_file.to_str().unwrap()]);
        assert!(!good, "{out}");
        assert!(
            out.contains(&format!(
                "audit chain rolled back: entries {receipt_seq} to {receipt_seq} of chain {}",
                w.province
            )),
            "{out}"
        );
        // the older head is still there
        let (good, out) = app.cli(&["audit", "verify", "--head", head_file.to_str().unwrap()]);
        assert!(good, "{out}");
    }
);
