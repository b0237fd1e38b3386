//! The console end to end in a real browser: headless Debian `chromium` driven by `playwright-core`
//! (`tests/browser/e2e.mjs`), axe-core on every page. `scripts/test.sh` installs what it needs; without
//! node, chromium or `tests/browser/node_modules` this test FAILS saying what is missing (no silent skip).
//! `UPDATE_SCREENSHOTS=1` writes the screenshots to `docs/screenshots/` (else to a temporary directory).

use crate::flow::world;
use crate::helpers::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    let chromium = std::env::var("SUA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        missing.push(format!("{chromium} (apt-get install -y chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node (apt-get install -y nodejs npm)".into());
    }
    let nm = repo().join("tests/browser/node_modules");
    for pkg in ["playwright-core", "axe-core"] {
        if !nm.join(pkg).exists() {
            missing.push(format!("{pkg} (npm ci --prefix tests/browser)"));
        }
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_end_to_end_in_headless_chromium_with_axe() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test needs: {}. Run scripts/test.sh (it installs them) or install them by hand.",
        missing.join(", ")
    );
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let bidder = |name: &str, cf: &str, pec: &str| {
        let body = json!({"name": name, "codice_fiscale": cf, "pec": pec});
        let app = &app;
        async move { ok(&app.post("/v1/operators", None, &body).await, 201)["token"].clone() }
    };
    let a = bidder("Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
    let b = bidder("Beta Servizi spa", "02229829771", "beta@pec.it").await;
    let cfg = json!({
        "base": app.base, "admin": w.admin, "buyer": w.buyer, "municipality": w.municipality,
        "bidder_a": a, "bidder_b": b,
    });
    let shots = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        repo().join("docs/screenshots")
    } else {
        app.data_dir().join("screenshots")
    };
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(repo().join("tests/browser/e2e.mjs"))
            .env("SUA_E2E", cfg.to_string())
            .env("SUA_SCREENSHOTS", &shots)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/browser/e2e.mjs failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("e2e: done"), "{stdout}");
    println!("{stdout}");
    // what the browser did is in the database: the lot is awarded to Alfa's bid
    let t = ok(
        &app.get("/v1/tenders?per_page=5", Some(&w.buyer)).await,
        200,
    );
    let lot = &t["items"][0]["lots"][0];
    assert!(lot["awardee_bid_id"].is_string(), "{t}");
}
