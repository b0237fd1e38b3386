//! Mail transports chosen from configuration: `smtp` (production: the PEC provider's SMTP server) and
//! `file` (writes `.eml` files; the default, so the engine runs with no mail server).

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Which transport to use (`mail.transport.kind`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TransportConfig {
    /// Writes every message as `<uuid>.eml` into `dir` (created if missing).
    File { dir: PathBuf },
    /// Sends through an SMTP server.
    Smtp(SmtpConfig),
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig::File {
            dir: PathBuf::from("data/mail"),
        }
    }
}

/// Connection security of the SMTP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Implicit TLS from the first byte (SMTPS, usually port 465; the usual PEC setup).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// No encryption (only for a local relay or tests).
    None,
}

/// `mail.transport` when `kind = "smtp"`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    /// Defaults: 465 for `tls`, 587 for `starttls`, 25 for `none`.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Connections kept open by the pool.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
}

fn default_pool_size() -> u32 {
    2
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// Why a send failed, as far as retrying is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No SMTP answer at all (connection refused, TLS failure, timeout): the server is unreachable, so the
    /// worker also postpones the rest of its batch.
    Unreachable(String),
    /// A 4xx answer or a local I/O error: retry this message later.
    Transient(String),
    /// A 5xx answer (except authentication ones, which are `Unreachable`) or a message lettre refuses:
    /// do not retry.
    Permanent(String),
}

/// A configured transport.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
            Transport::File(_) => f.write_str("Transport::File"),
        }
    }
}

impl Transport {
    /// Builds the transport; `timeout` bounds every SMTP command.
    pub fn from_config(config: &TransportConfig, timeout: Duration) -> Result<Self, Error> {
        match config {
            TransportConfig::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::Config(format!("mail.transport.dir {}: {e}", dir.display()))
                })?;
                Ok(Transport::File(AsyncFileTransport::<Tokio1Executor>::new(
                    dir,
                )))
            }
            TransportConfig::Smtp(smtp) => {
                if smtp.host.trim().is_empty() {
                    return Err(Error::Config("mail.transport.host is empty".into()));
                }
                if smtp.username.is_some() != smtp.password.is_some() {
                    return Err(Error::Config(
                        "mail.transport.username and mail.transport.password go together".into(),
                    ));
                }
                let tls_parameters = || {
                    TlsParameters::new(smtp.host.clone()).map_err(|e| {
                        Error::Config(format!("mail.transport.host {}: {e}", smtp.host))
                    })
                };
                let (tls, default_port) = match smtp.security {
                    SmtpSecurity::Tls => (Tls::Wrapper(tls_parameters()?), 465),
                    SmtpSecurity::Starttls => (Tls::Required(tls_parameters()?), 587),
                    SmtpSecurity::None => (Tls::None, 25),
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                        .port(smtp.port.unwrap_or(default_port))
                        .tls(tls)
                        .timeout(Some(timeout))
                        .pool_config(PoolConfig::new().max_size(smtp.pool_size.max(1)));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Ok(Transport::Smtp(builder.build()))
            }
        }
    }

    /// Sends one message and classifies the failure.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                let text = smtp_error_text(&e);
                // Authentication refused or required (530, 534, 535, 538): our configuration, not the
                // message, is at fault. Treat it like an unreachable server (postpone and retry) rather
                // than failing every queued message permanently.
                let auth_problem = e.status().is_some_and(|c| {
                    matches!(c.to_string().as_str(), "530" | "534" | "535" | "538")
                });
                if auth_problem {
                    SendError::Unreachable(format!("authentication: {text}"))
                } else if e.is_permanent() {
                    SendError::Permanent(text)
                } else if e.is_transient() {
                    SendError::Transient(text)
                } else if e.status().is_some() {
                    // An SMTP answer outside 4xx/5xx where one of those was expected.
                    SendError::Transient(text)
                } else {
                    SendError::Unreachable(text)
                }
            }),
            Transport::File(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(format!("file transport: {e}"))),
        }
    }
}

fn smtp_error_text(e: &lettre::transport::smtp::Error) -> String {
    let mut out = format!("smtp: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
