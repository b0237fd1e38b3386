//! Layered configuration (figment): built-in defaults, then `config/default.toml` (if present in the working
//! directory), then the file named by `--config` or `SUA_CONFIG`, then `SUA_*` environment variables with
//! `__` separating sections, e.g. `SUA_DATABASE__URL`, `SUA_HTTP__ADDR`.

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Days before a register listing's expiry when the operator is owed a reminder (default of
/// `[reminders] listing_expiry_days`).
pub const LISTING_EXPIRY_REMINDER_DAYS: [u32; 3] = [60, 30, 7];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    /// `[mail]`: the outbox worker and transport (see the `notify` crate and docs/notifications.md).
    #[serde(default)]
    pub mail: notify::MailConfig,
    pub log: LogSettings,
    pub clock: ClockSettings,
    pub scheduler: SchedulerSettings,
    /// `[sealing]`: KEKs and the receipt signing key (docs/sealing.md, "In the service").
    #[serde(default)]
    pub sealing: crate::sealed::SealingSettings,
    /// `[documents]`: the document store (a local directory or S3-compatible: bid files, tender
    /// documents, request attachments), see `service::docstore`.
    #[serde(default)]
    pub documents: crate::docstore::DocumentSettings,
    /// `[reminders]`: offer-deadline and register-expiry reminders (see `service::reminders`).
    #[serde(default)]
    pub reminders: RemindersSettings,
    /// `[sua]`: facts of the stazione appaltante itself.
    #[serde(default)]
    pub sua: SuaSettings,
    /// `[pcp]`: ANAC's Piattaforma Contratti Pubblici (disabled by default, see `service::pcp`).
    #[serde(default)]
    pub pcp: crate::pcp::PcpSettings,
    /// `[tokens]`: API tokens (`service::tokens`).
    #[serde(default)]
    pub tokens: TokenSettings,
}

/// `[tokens]`: API tokens (docs/operations.md, "API tokens").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// Days a token is valid when it is issued without an explicit expiry (`POST /v1/tokens`'s
    /// `expires_at`, `sua admin create-token --expires-in-days`). 0: such tokens never expire.
    pub default_ttl_days: u32,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            default_ttl_days: 365,
        }
    }
}

/// `[sua]`: facts of the stazione appaltante that the law makes depend on it, not on one tender.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuaSettings {
    /// The SUA's qualification level as ANAC recorded it (art. 63 c.2): `none`, `base`, `intermediate`
    /// or `advanced`. No default: while it is not declared, the SUA runs only what art. 62 c.1 allows
    /// every stazione appaltante (services and supplies up to the direct-award threshold, works up to
    /// 500,000), and publishing anything larger is refused naming art. 62 c.2, art. 63 c.2.
    pub qualification: Option<lifecycle::QualificationLevel>,
}

/// `[reminders]`: when the scheduler mails reminders (`service::reminders`, docs/operations.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemindersSettings {
    /// Hours before a tender's offer deadline at which operators who started but did not submit are
    /// reminded (one mail per offset). Empty: no deadline reminders.
    pub offer_deadline_hours: Vec<u32>,
    /// Days before a register listing's expiry at which the operator is reminded. Empty: none.
    pub listing_expiry_days: Vec<u32>,
}

impl Default for RemindersSettings {
    fn default() -> Self {
        RemindersSettings {
            offer_deadline_hours: vec![48, 24],
            listing_expiry_days: LISTING_EXPIRY_REMINDER_DAYS.to_vec(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://data/sua.db?mode=rwc` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpSettings {
    /// Listen address, `host:port`. Port 0 picks a free port (printed in the log).
    pub addr: String,
    /// Base URL used in links sent by mail.
    pub public_base_url: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Requests taking longer are answered 408 (except streamed uploads: `upload_timeout_secs`).
    pub request_timeout_secs: u64,
    /// Time allowed to a streamed file upload (`PUT …/files/{name}`, `PUT …/documents/{name}`), so that
    /// a large envelope file over a slow link near the deadline is not cut at `request_timeout_secs`.
    #[serde(default = "default_upload_timeout")]
    pub upload_timeout_secs: u64,
    /// Seconds given to requests in flight after SIGTERM/Ctrl-C.
    pub shutdown_grace_secs: u64,
    /// Whether the console's session cookie carries `Secure` (sent only over https). Unset: `Secure`
    /// exactly when `public_base_url` starts with `https://` (a TLS-terminating proxy in front).
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// A connection must deliver each request's complete header within this many seconds (counted from
    /// the moment the server waits for it, so an idle keep-alive connection is closed after it too);
    /// otherwise it is closed. Holds off clients that open connections and never finish a request.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Open connections served at once. When the cap is reached, new connections wait in the kernel's
    /// accept queue until one closes. At start the process raises its open-file limit to the hard limit;
    /// if that is still too low for this many connections, the cap is lowered to fit (with a warning).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections the kernel may hold completed but not yet accepted (the `listen` backlog): a deadline
    /// rush opens thousands at once, and a connection beyond the queue is dropped and retried by the
    /// client a second or more later. Linux caps it at `net.core.somaxconn`.
    #[serde(default = "default_listen_backlog")]
    pub listen_backlog: u32,
    /// Requests per second allowed to one API token, sustained (`0` disables the limit). Past it the
    /// answer is 429 with `Retry-After`.
    #[serde(default = "default_rate_limit_per_second")]
    pub rate_limit_per_second: u32,
    /// Requests one token may send at once above the sustained rate (the bucket's size).
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
}

fn default_upload_timeout() -> u64 {
    2 * 60 * 60
}

fn default_header_read_timeout() -> u64 {
    10
}

fn default_max_connections() -> usize {
    4096
}

fn default_listen_backlog() -> u32 {
    4096
}

fn default_rate_limit_per_second() -> u32 {
    20
}

fn default_rate_limit_burst() -> u32 {
    200
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: String,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClockSettings {
    /// TEST/DEMO ONLY: enables `PUT /v1/admin/clock` (platform admin) which shifts the server clock.
    /// Never enable in production: it moves bid deadlines.
    pub allow_override: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchedulerSettings {
    pub enabled: bool,
    /// Seconds between two scheduler passes.
    pub interval_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: DatabaseSettings {
                url: "sqlite://data/sua.db?mode=rwc".into(),
                max_connections: 8,
            },
            http: HttpSettings {
                addr: "127.0.0.1:8080".into(),
                public_base_url: "http://127.0.0.1:8080".into(),
                body_limit_bytes: 16 * 1024 * 1024,
                request_timeout_secs: 30,
                upload_timeout_secs: default_upload_timeout(),
                shutdown_grace_secs: 20,
                secure_cookies: None,
                header_read_timeout_secs: default_header_read_timeout(),
                max_connections: default_max_connections(),
                listen_backlog: default_listen_backlog(),
                rate_limit_per_second: default_rate_limit_per_second(),
                rate_limit_burst: default_rate_limit_burst(),
            },
            mail: notify::MailConfig::default(),
            log: LogSettings {
                format: "pretty".into(),
                filter: "info,sqlx=warn,sea_orm=warn".into(),
            },
            clock: ClockSettings {
                allow_override: false,
            },
            scheduler: SchedulerSettings {
                enabled: true,
                interval_secs: 5,
            },
            sealing: Default::default(),
            documents: Default::default(),
            reminders: Default::default(),
            sua: Default::default(),
            pcp: Default::default(),
            tokens: Default::default(),
        }
    }
}

/// Build the figment described in the module docs. `extra` is the `--config` file, if any.
pub fn figment(extra: Option<&Path>) -> Figment {
    let mut f = Figment::from(Serialized::defaults(Settings::default()));
    let default_file = Path::new("config/default.toml");
    if default_file.exists() {
        f = f.merge(Toml::file(default_file));
    }
    let extra: Option<PathBuf> = extra
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SUA_CONFIG").map(PathBuf::from));
    if let Some(p) = extra {
        f = f.merge(Toml::file(p));
    }
    f.merge(Env::prefixed("SUA_").split("__").ignore(&["config"]))
}

pub fn load(extra: Option<&Path>) -> anyhow::Result<Settings> {
    if let Some(p) = extra
        && !p.exists()
    {
        anyhow::bail!("config file {} not found", p.display());
    }
    let s: Settings = figment(extra)
        .extract()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    s.validate()?;
    Ok(s)
}

impl Settings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"))
        {
            anyhow::bail!("database.url: must start with sqlite: or postgres://");
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            anyhow::bail!("log.format: must be \"pretty\" or \"json\"");
        }
        if self.scheduler.interval_secs == 0 {
            anyhow::bail!("scheduler.interval_secs: must be at least 1");
        }
        if self.http.header_read_timeout_secs == 0 {
            anyhow::bail!("http.header_read_timeout_secs: must be at least 1");
        }
        if self.http.max_connections == 0 {
            anyhow::bail!("http.max_connections: must be at least 1");
        }
        if self.http.listen_backlog == 0 {
            anyhow::bail!("http.listen_backlog: must be at least 1");
        }
        if self.http.rate_limit_per_second > 0 && self.http.rate_limit_burst == 0 {
            anyhow::bail!(
                "http.rate_limit_burst: must be at least 1 when rate_limit_per_second is set"
            );
        }
        self.documents.validate().map_err(|e| anyhow::anyhow!(e))?;
        let r = &self.reminders;
        if r.offer_deadline_hours
            .iter()
            .any(|h| !(1..=24 * 366).contains(h))
        {
            anyhow::bail!("reminders.offer_deadline_hours: each value between 1 and 8784 hours");
        }
        if r.listing_expiry_days
            .iter()
            .any(|d| !(1..=3660).contains(d))
        {
            anyhow::bail!("reminders.listing_expiry_days: each value between 1 and 3660 days");
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's error type
mod tests {
    use super::*;

    #[test]
    fn env_variables_override_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file("config/default.toml", "[http]\naddr = \"127.0.0.1:9000\"\n")?;
            jail.set_env("SUA_DATABASE__URL", "postgres://x@localhost/y");
            let s = load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.http.addr, "127.0.0.1:9000");
            assert_eq!(s.database.url, "postgres://x@localhost/y");
            jail.set_env("SUA_HTTP__ADDR", "0.0.0.0:1");
            let s = load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.http.addr, "0.0.0.0:1");
            Ok(())
        });
    }

    #[test]
    fn invalid_settings_are_refused_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SUA_LOG__FORMAT", "xml");
            let e = load(None).unwrap_err().to_string();
            assert!(e.contains("log.format"), "{e}");
            jail.set_env("SUA_LOG__FORMAT", "json");
            jail.set_env("SUA_DATABASE__URL", "mysql://x");
            let e = load(None).unwrap_err().to_string();
            assert!(e.contains("database.url"), "{e}");
            jail.set_env("SUA_DATABASE__URL", "sqlite::memory:");
            jail.set_env("SUA_DOCUMENTS__BACKEND", "s3");
            let e = load(None).unwrap_err().to_string();
            assert!(e.contains("documents.bucket"), "{e}");
            jail.set_env("SUA_DOCUMENTS__BUCKET", "sua-docs");
            jail.set_env("SUA_DOCUMENTS__ENDPOINT", "https://s3.example.it");
            jail.set_env("SUA_DOCUMENTS__ACCESS_KEY_ID", "k");
            jail.set_env("SUA_DOCUMENTS__SECRET_ACCESS_KEY", "s");
            let s = load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.documents.backend, crate::docstore::Backend::S3);
            assert_eq!(s.documents.secret_access_key.as_deref(), Some("s"));
            jail.set_env("SUA_DOCUMENTS__BACKEND", "ftp");
            let e = load(None).unwrap_err().to_string();
            assert!(e.to_lowercase().contains("documents.backend"), "{e}");
            jail.set_env("SUA_DOCUMENTS__BACKEND", "local");
            jail.set_env("SUA_MAIL__TRANSPORT__KIND", "pigeon");
            let e = load(None).unwrap_err().to_string();
            assert!(e.to_lowercase().contains("mail.transport.kind"), "{e}");
            Ok(())
        });
    }
}
