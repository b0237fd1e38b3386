//! An SMTP server on loopback, inside the test process: it records every message it accepts (envelope
//! and parsed contents) and can be stopped (an outage: connections refused) and restarted on the same
//! port, keeping what it received.
//!
//! Its answers: recipients whose local part starts with `reject` get `550` at `RCPT`, those starting with
//! `busy` get `451`; a delay, if set, is waited *after* a message is recorded and *before* the `250`
//! reply, to leave a window in which a client can die after the server has the message but before it
//! knows it. With [`SmtpSink::start_with_auth`] it requires `AUTH` (`PLAIN` or `LOGIN`, allowed without
//! TLS on loopback) before `MAIL`. It speaks plaintext only: it does not offer `STARTTLS`.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The SMTP sink; the server runs on its own thread and runtime, so it serves synchronous and
/// asynchronous tests alike, and stops (with every open connection) when dropped.
pub struct SmtpSink {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    delay: Duration,
    auth: Option<(String, String)>,
    received: Arc<Mutex<Vec<Value>>>,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

#[derive(Clone)]
struct Settings {
    delay: Duration,
    auth: Option<(String, String)>,
    received: Arc<Mutex<Vec<Value>>>,
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    /// Starts the sink on a free port; `delay` between recording a message and answering `250`.
    pub fn start(delay: Duration) -> Self {
        Self::start_inner(delay, None)
    }

    /// Starts a sink that requires SMTP AUTH with `user`/`password`.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_inner(Duration::ZERO, Some((user.into(), password.into())))
    }

    fn start_inner(delay: Duration, auth: Option<(String, String)>) -> Self {
        let mut sink = SmtpSink {
            port: free_port(),
            delay,
            auth,
            received: Arc::default(),
            running: None,
        };
        sink.restart();
        sink
    }

    /// (Re)starts the server on the same port, keeping what it already received.
    pub fn restart(&mut self) {
        assert!(self.running.is_none(), "sink already running");
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        // bound here, so that the port listens when this returns (std sets SO_REUSEADDR on Unix)
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match StdListener::bind(addr) {
                Ok(l) => break l,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "SMTP sink cannot bind {addr}: {e}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        listener.set_nonblocking(true).unwrap();
        let settings = Settings {
            delay: self.delay,
            auth: self.auth.clone(),
            received: self.received.clone(),
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("smtp-sink-{}", self.port))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("SMTP sink runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("SMTP sink listener");
                    let accept = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                continue;
                            };
                            tokio::spawn(session(stream, settings.clone()));
                        }
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept => {}
                    }
                });
                // dropping the runtime drops every session: their connections close, as when a
                // server process dies
                drop(rt);
            })
            .expect("SMTP sink thread");
        self.running = Some((stop_tx, thread));
    }

    /// Changes the reply delay used from the next [`restart`](Self::restart).
    pub fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
    }

    /// Stops the server (an outage): open connections are closed and new ones refused until
    /// [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            thread.join().expect("SMTP sink thread panicked");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "SMTP sink still listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every message received so far, in arrival order: a JSON object with `mail_from`, `rcpt_tos`
    /// (the envelope), the decoded headers `from`, `to`, `subject`, `message_id`, `date`, the
    /// top-level `content_type`, and the decoded `text` and `html` bodies (`null` when absent).
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

/// Strips `<...>` and any ESMTP parameters from the argument of `MAIL FROM:` / `RCPT TO:`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = if arg.starts_with('<') {
        arg.find('>').map_or(arg.len(), |i| i + 1)
    } else {
        arg.find(' ').unwrap_or(arg.len())
    };
    arg[..end]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

async fn session(stream: tokio::net::TcpStream, s: Settings) {
    let _ = session_inner(stream, s).await;
}

async fn session_inner(stream: tokio::net::TcpStream, s: Settings) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    reply(&mut write, "220 127.0.0.1 ESMTP sua test sink").await?;
    let mut authenticated = s.auth.is_none();
    let mut mail_from: Option<String> = None;
    let mut rcpt_tos: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if lines.read_until(b'\n', &mut buf).await? == 0 {
            return Ok(());
        }
        let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let mut caps = vec!["127.0.0.1", "8BITMIME", "SMTPUTF8"];
                if s.auth.is_some() {
                    caps.push("AUTH PLAIN LOGIN");
                }
                caps.push("HELP");
                let last = caps.len() - 1;
                for (i, c) in caps.iter().enumerate() {
                    let sep = if i == last { ' ' } else { '-' };
                    reply(&mut write, &format!("250{sep}{c}")).await?;
                }
            }
            "HELO" => reply(&mut write, "250 127.0.0.1").await?,
            "AUTH" => {
                let Some((user, password)) = &s.auth else {
                    reply(&mut write, "502 5.5.1 AUTH not offered").await?;
                    continue;
                };
                let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                let mut next = async |prompt: &str| -> std::io::Result<Vec<u8>> {
                    reply(&mut write, prompt).await?;
                    let mut l = Vec::new();
                    lines.read_until(b'\n', &mut l).await?;
                    Ok(decode64(String::from_utf8_lossy(&l).trim()))
                };
                let given = match mechanism.to_ascii_uppercase().as_str() {
                    "PLAIN" => {
                        let raw = if initial.is_empty() {
                            next("334 ").await?
                        } else {
                            decode64(initial)
                        };
                        let mut parts = raw.split(|b| *b == 0).skip(1);
                        let u = parts.next().unwrap_or_default().to_vec();
                        let p = parts.next().unwrap_or_default().to_vec();
                        Some((u, p))
                    }
                    "LOGIN" => {
                        let u = if initial.is_empty() {
                            next("334 VXNlcm5hbWU6").await?
                        } else {
                            decode64(initial)
                        };
                        let p = next("334 UGFzc3dvcmQ6").await?;
                        Some((u, p))
                    }
                    _ => None,
                };
                match given {
                    None => reply(&mut write, "504 5.5.4 Unrecognized authentication type").await?,
                    Some((u, p)) if u == user.as_bytes() && p == password.as_bytes() => {
                        authenticated = true;
                        reply(&mut write, "235 2.7.0 Authentication successful").await?;
                    }
                    Some(_) => {
                        reply(&mut write, "535 5.7.8 Authentication credentials invalid").await?
                    }
                }
            }
            "MAIL" if !authenticated => {
                reply(&mut write, "530 5.7.0 Authentication required").await?
            }
            "MAIL" => {
                let from = arg.split_once(':').map(|(_, a)| address(a));
                mail_from = from;
                rcpt_tos.clear();
                reply(&mut write, "250 OK").await?;
            }
            "RCPT" if mail_from.is_none() => {
                reply(&mut write, "503 Error: need MAIL command").await?
            }
            "RCPT" => {
                let to = arg
                    .split_once(':')
                    .map(|(_, a)| address(a))
                    .unwrap_or_default();
                let local = to.split('@').next().unwrap_or_default();
                if local.starts_with("reject") {
                    reply(&mut write, "550 5.1.1 Mailbox unavailable").await?;
                } else if local.starts_with("busy") {
                    reply(&mut write, "451 4.3.0 Try again later").await?;
                } else {
                    rcpt_tos.push(to);
                    reply(&mut write, "250 OK").await?;
                }
            }
            "DATA" if rcpt_tos.is_empty() => {
                reply(&mut write, "503 Error: need RCPT command").await?
            }
            "DATA" => {
                reply(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if lines.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(()); // cut mid-message: nothing recorded
                    }
                    if l == b".\r\n" || l == b".\n" {
                        break;
                    }
                    // dot-stuffing
                    data.extend_from_slice(if l.starts_with(b".") { &l[1..] } else { &l });
                }
                let record = parse(
                    mail_from.take().unwrap_or_default(),
                    std::mem::take(&mut rcpt_tos),
                    &data,
                );
                s.received.lock().unwrap().push(record);
                if !s.delay.is_zero() {
                    tokio::time::sleep(s.delay).await;
                }
                reply(&mut write, "250 Message accepted for delivery").await?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_tos.clear();
                reply(&mut write, "250 OK").await?;
            }
            "NOOP" => reply(&mut write, "250 OK").await?,
            "QUIT" => {
                reply(&mut write, "221 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut write, "500 Error: command not recognized").await?,
        }
    }
}

async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

fn decode64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default()
}

/// The first part of `mail` (itself included) of type `text/<subtype>` that is not an attachment,
/// decoded, with `\n` line ends.
fn body(mail: &mailparse::ParsedMail<'_>, subtype: &str) -> Option<String> {
    let disposition = mail.get_content_disposition().disposition;
    if mail.ctype.mimetype == format!("text/{subtype}")
        && disposition != mailparse::DispositionType::Attachment
    {
        return mail.get_body().ok().map(|b| b.replace("\r\n", "\n"));
    }
    mail.subparts.iter().find_map(|p| body(p, subtype))
}

/// An address header (decoded) in the usual normalized form, as Python's `email` package prints it:
/// `Name <addr>`, the display name quoted only when it contains a special character; as received when
/// it does not parse.
fn addresses(value: &str) -> String {
    const SPECIALS: &[char] = &[
        '(', ')', '<', '>', '@', ',', ':', ';', '.', '\\', '"', '[', ']',
    ];
    let Ok(list) = mailparse::addrparse(value) else {
        return value.to_owned();
    };
    let mut out = Vec::new();
    for a in list.iter() {
        let mailparse::MailAddr::Single(a) = a else {
            return value.to_owned();
        };
        out.push(match &a.display_name {
            None => a.addr.clone(),
            Some(name) if name.contains(SPECIALS) => {
                let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                format!("\"{quoted}\" <{}>", a.addr)
            }
            Some(name) => format!("{name} <{}>", a.addr),
        });
    }
    out.join(", ")
}

fn parse(mail_from: String, rcpt_tos: Vec<String>, data: &[u8]) -> Value {
    let envelope = json!({"mail_from": mail_from, "rcpt_tos": rcpt_tos});
    let Ok(mail) = mailparse::parse_mail(data) else {
        let mut v = envelope;
        v["unparsed"] = Value::String(String::from_utf8_lossy(data).into_owned());
        return v;
    };
    use mailparse::MailHeaderMap as _;
    let header = |name: &str| mail.headers.get_first_value(name);
    json!({
        "mail_from": mail_from,
        "rcpt_tos": rcpt_tos,
        "from": header("From").map(|v| addresses(&v)),
        "to": header("To").map(|v| addresses(&v)),
        "subject": header("Subject"),
        "message_id": header("Message-ID"),
        "date": header("Date"),
        "content_type": mail.ctype.mimetype,
        "text": body(&mail, "plain"),
        "html": body(&mail, "html"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses_lose_brackets_and_parameters() {
        assert_eq!(address("<a@b.example>"), "a@b.example");
        assert_eq!(
            address(" <a@b.example> SIZE=100 BODY=8BITMIME"),
            "a@b.example"
        );
        assert_eq!(address("a@b.example SIZE=1"), "a@b.example");
        assert_eq!(address("<>"), "");
    }

    #[test]
    fn address_headers_quote_the_display_name_only_when_needed() {
        assert_eq!(
            addresses("\"SUA Provincia\" <sua@pec.example.it>"),
            "SUA Provincia <sua@pec.example.it>"
        );
        assert_eq!(
            addresses("\"Alfa S.p.A.\" <a@b.example>, c@d.example"),
            "\"Alfa S.p.A.\" <a@b.example>, c@d.example"
        );
    }

    #[test]
    fn a_multipart_message_is_parsed_into_headers_and_decoded_bodies() {
        let data = b"From: \"Mittente\" <m@x.example>\r\nTo: d@y.example\r\n\
Subject: =?utf-8?b?Q2Fmw6g=?=\r\nMessage-ID: <1@x.example>\r\nDate: Sat, 28 Nov 2026 09:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
=E2=82=AC 1.234,80\r\nriga due\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>\r\n--B--\r\n";
        let v = parse("m@x.example".into(), vec!["d@y.example".into()], data);
        assert_eq!(v["subject"], "Caf\u{e8}");
        assert_eq!(v["from"], "Mittente <m@x.example>");
        assert_eq!(v["content_type"], "multipart/alternative");
        assert_eq!(v["text"], "\u{20ac} 1.234,80\nriga due");
        assert_eq!(v["html"], "<p>x</p>");
        assert_eq!(v["rcpt_tos"], json!(["d@y.example"]));
    }
}
