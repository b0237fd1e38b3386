//! Sets `cfg(sua_pg)` when `SUA_TEST_DATABASE_URL` is set, so that the PostgreSQL tests run; without it
//! they are built as ignored (with the reason), not passed silently.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(sua_pg)");
    println!("cargo::rerun-if-env-changed=SUA_TEST_DATABASE_URL");
    if std::env::var("SUA_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=sua_pg");
    }
}
