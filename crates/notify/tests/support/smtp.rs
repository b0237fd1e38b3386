//! A real SMTP server on loopback: Python's aiosmtpd running `smtp_sink.py`, killed and restarted at will.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    out: PathBuf,
    delay: f64,
    auth: Option<String>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    /// Starts the sink on a free port; `delay` seconds between recording a message and answering 250.
    pub fn start(delay: f64) -> Self {
        Self::start_inner(delay, None)
    }

    /// Starts a sink that requires SMTP AUTH with `user`/`password`.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_inner(0.0, Some(format!("{user}:{password}")))
    }

    fn start_inner(delay: f64, auth: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = SmtpSink {
            child: None,
            port: free_port(),
            out: dir.path().join("received.jsonl"),
            delay,
            auth,
            _dir: dir,
        };
        sink.restart();
        sink
    }

    /// (Re)starts the server on the same port, keeping what it already received.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "sink already running");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .arg(self.port.to_string())
            .arg(&self.out)
            .arg(self.delay.to_string());
        if let Some(auth) = &self.auth {
            command.arg(auth);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 must be installed to run the SMTP tests");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "smtp_sink.py did not start: is aiosmtpd installed? (pip install aiosmtpd)"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "SMTP sink not listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// Changes the reply delay used from the next [`restart`](Self::restart).
    pub fn set_delay(&mut self, delay: f64) {
        self.delay = delay;
    }

    /// Kills the server (an outage): connections are refused until [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "SMTP sink still listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every message received so far, parsed by the sink.
    pub fn received(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(&self.out) {
            Ok(s) => s
                .lines()
                .map(|l| serde_json::from_str(l).expect("sink writes JSON lines"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
