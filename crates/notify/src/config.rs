//! Configuration of the mail subsystem (`[mail]` in the service's configuration).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::templates::Templates;
use crate::transport::{Transport, TransportConfig};
use crate::worker::{Mailer, WorkerConfig};

/// `[mail]`: sender, templates, transport and worker settings. Every field has a default, so an empty
/// `[mail]` section gives the file transport under `data/mail`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// `From:` of every message, an RFC 5322 mailbox (the SUA's PEC address).
    pub from: String,
    /// Right-hand side of the `Message-ID` (`<outbox-uuid@domain>`); defaults to the domain of `from`.
    pub message_id_domain: Option<String>,
    /// Directory of the templates (`<event>.subject.txt`, `<event>.txt`, `<event>.html`).
    pub templates_dir: PathBuf,
    /// Name of the sender organisation, available to every template as `organization`.
    pub organization: String,
    pub transport: TransportConfig,
    pub worker: WorkerConfig,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Stazione Unica Appaltante <sua@pec.example.invalid>".into(),
            message_id_domain: None,
            templates_dir: PathBuf::from("config/templates/mail"),
            organization: "Stazione Unica Appaltante".into(),
            transport: TransportConfig::default(),
            worker: WorkerConfig::default(),
        }
    }
}

impl MailConfig {
    /// Parses the sender, loads the templates and builds the transport.
    pub fn build_mailer(&self) -> Result<Mailer, Error> {
        self.worker.validate()?;
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| Error::Config(format!("mail.from `{}`: {e}", self.from)))?;
        let domain = match &self.message_id_domain {
            Some(d) if !d.trim().is_empty() && !d.contains(['<', '>', '@', ' ']) => d.clone(),
            Some(d) => {
                return Err(Error::Config(format!(
                    "mail.message_id_domain `{d}` is not a domain"
                )));
            }
            None => from.email.domain().to_owned(),
        };
        let mut globals = BTreeMap::new();
        globals.insert("organization".to_owned(), self.organization.clone());
        let templates = Templates::load(&self.templates_dir, &globals)?;
        let transport = Transport::from_config(
            &self.transport,
            Duration::from_secs(self.worker.send_timeout_secs),
        )?;
        Ok(Mailer::new(transport, from, domain, Arc::new(templates)))
    }
}
