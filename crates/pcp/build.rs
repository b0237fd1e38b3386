//! Sets `cfg(sua_xmllint)` when `SUA_XMLLINT` names an `xmllint` program, so that `tests/eforms.rs`
//! validates the eForms against the eForms XSDs with it (the pure-Rust `xmlschema` cannot compile the UBL
//! schemas, see that test); without it those tests are reported as ignored, with the reason.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(sua_xmllint)");
    println!("cargo::rerun-if-env-changed=SUA_XMLLINT");
    if std::env::var_os("SUA_XMLLINT").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=sua_xmllint");
    }
}
