//! Starting the `sua serve` binary for black-box tests: on a free port of 127.0.0.1, with its data
//! directory, its database and the file mail transport, waiting for its `sua listening on <url>` line.
//! The binary's path comes from the caller (`env!("CARGO_BIN_EXE_sua")` in the service crate's tests).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `sua serve`; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:<port>`, as the server printed it.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Starts `bin serve` in `dir` (its data directory: keys, document store, mail files under `dir/mail`)
/// on `db_url`, with the scheduler ticking every second, the SUA qualified `advanced`, no per-token rate limit and `RUST_LOG=error`; `env` (`SUA_SECTION__KEY`
/// pairs, `RUST_LOG`) is applied last and overrides those (an empty value removes one). Waits up to 60 s for the "listening" line.
pub fn spawn(bin: &Path, dir: &Path, db_url: &str, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .current_dir(dir)
        .env("SUA_DATABASE__URL", db_url)
        .env("SUA_HTTP__ADDR", "127.0.0.1:0")
        .env("SUA_MAIL__TRANSPORT__KIND", "file")
        .env("SUA_MAIL__TRANSPORT__DIR", dir.join("mail"))
        .env(
            "SUA_MAIL__TEMPLATES_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/templates/mail"),
        )
        .env("SUA_SCHEDULER__INTERVAL_SECS", "1")
        // the test Province declared its qualification (art. 63); a test may override or unset it
        .env("SUA_SUA__QUALIFICATION", "advanced")
        // tests drive whole procedures with one token as fast as they can: no per-token rate limit,
        // except where a test sets one (tests/api/hostile.rs)
        .env("SUA_HTTP__RATE_LIMIT_PER_SECOND", "0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        // an empty value removes the variable (e.g. to leave `sua.qualification` undeclared)
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {} serve: {e}", bin.display()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("sua listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let base = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(base) => base,
        Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            panic!("sua serve did not report its address within 60 s (exit: {status:?})");
        }
    };
    Server { child, base }
}
