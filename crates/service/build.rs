//! Sets `cfg(sua_pg)` when `SUA_TEST_DATABASE_URL` is set, so that the PostgreSQL tests run, and
//! `cfg(sua_xmllint)` when `SUA_XMLLINT` names xmllint, so that the demo's eForms are validated against the
//! eForms XSD; without them those tests are built as ignored (with the reason), not passed silently. Links the
//! binaries with packed relative relocations on Linux/glibc (see below).
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
    // `sua` with packed relative relocations (DT_RELR): its 90,000 relocations take 31 KB instead of a 2.2 MB
    // `.rela.dyn` read at every start, 2 MB less memory for every command (bench/README.md, "sua evaluate":
    // peak memory under 30 MB). Needs glibc 2.36 and binutils 2.38 (Debian 12 has both); SUA_NO_RELR=1 leaves
    // it out for an older system.
    println!("cargo::rerun-if-env-changed=SUA_NO_RELR");
    let target = |k: &str| std::env::var(k).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux"
        && target("CARGO_CFG_TARGET_ENV") == "gnu"
        && std::env::var_os("SUA_NO_RELR").is_none_or(|v| v.is_empty())
    {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
