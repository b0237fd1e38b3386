//! Sets `cfg(sua_pg)` when `SUA_TEST_DATABASE_URL` is set, so that the PostgreSQL tests run, and
//! `cfg(sua_xmllint)` when `SUA_XMLLINT` names xmllint, so that the demo's eForms are validated against the
//! eForms XSD; without them those tests are built as ignored (with the reason), not passed silently.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(sua_pg)");
    println!("cargo::rerun-if-env-changed=SUA_TEST_DATABASE_URL");
    if std::env::var("SUA_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=sua_pg");
    }
    // `cfg(sua_xmllint)`: `tests/demo.rs` validates the demo's eForms with xmllint (as the pcp crate does)
    println!("cargo::rustc-check-cfg=cfg(sua_xmllint)");
    println!("cargo::rerun-if-env-changed=SUA_XMLLINT");
    if std::env::var_os("SUA_XMLLINT").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=sua_xmllint");
    }
}
