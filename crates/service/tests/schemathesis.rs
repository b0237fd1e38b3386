//! OpenAPI conformance (issue 20, "Hostile clients"): schemathesis 4 against the built `sua serve`, once
//! per role (platform admin, SUA buyer, municipality, operator), bounded: no server error and no
//! conformance failure (status codes, content types, headers and bodies as `/openapi.json` documents
//! them). The run is `scripts/schemathesis.sh`; `scripts/test.sh` installs schemathesis in a venv with
//! pip and names it in `SUA_SCHEMATHESIS`.

use std::process::Command;

#[test]
fn the_api_conforms_to_its_openapi_document_for_every_role() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let st = std::env::var("SUA_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_owned());
    let found = Command::new(&st).arg("--version").output();
    match found {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "schemathesis not found ({st}): this test needs schemathesis 4 from PyPI. Run the tests with \
             scripts/test.sh (it installs it in a venv with pip and sets SUA_SCHEMATHESIS), or \
             `python3 -m venv v && v/bin/pip install 'schemathesis>=4,<5'` and set SUA_SCHEMATHESIS=v/bin/schemathesis"
        ),
    }
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/schemathesis.sh"))
        .arg(env!("CARGO_BIN_EXE_sua"))
        .env("SUA_SCHEMATHESIS", &st)
        .output()
        .expect("run scripts/schemathesis.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found server errors or conformance failures:\n{text}"
    );
    // the run really tested the four roles
    for role in ["platform_admin", "sua_buyer", "municipality", "bidder"] {
        assert!(
            text.contains(&format!("== schemathesis as {role}")),
            "{text}"
        );
    }
    // schemathesis says "N failures" / "unique failure" when it finds any ("Authentication failed" is a
    // warning: a role has no access to some operations, as it should)
    assert!(!text.contains("failure"), "{text}");
}
