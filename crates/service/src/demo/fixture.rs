//! The shape of `fixtures/demo.json` (only the fields the demo drives through the API).

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

/// The fixture embedded in the binary, so `sua demo` needs no file next to it.
pub const DEMO_JSON: &str = include_str!("../../../../fixtures/demo.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    pub province: Province,
    pub municipalities: Vec<Municipality>,
    pub operators: Vec<Operator>,
    pub tenders: Vec<Tender>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Province {
    pub name: String,
    pub codice_fiscale: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Municipality {
    pub key: String,
    pub name: String,
    pub codice_fiscale: String,
    /// The Comune's PEC: its request and procedure mails go there.
    pub pec: Option<String>,
    pub rup: Rup,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rup {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Operator {
    pub key: String,
    pub name: String,
    pub codice_fiscale: String,
    pub partita_iva: Option<String>,
    pub pec: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tender {
    pub key: String,
    pub municipality: String,
    pub title: String,
    /// works, services, supplies.
    pub object: String,
    pub cpv: String,
    pub cup: Option<String>,
    pub funding: String,
    pub procedure: String,
    pub criterion: String,
    pub anomaly: Option<serde_json::Value>,
    pub technical: Option<serde_json::Value>,
    pub economic: Option<serde_json::Value>,
    #[serde(default)]
    pub invitees: Vec<String>,
    pub published_at: DateTime<FixedOffset>,
    pub deadline: DateTime<FixedOffset>,
    pub lots: Vec<Lot>,
    #[serde(default)]
    pub bids: Vec<Bid>,
    pub revoke: Option<Revoke>,
    /// A direct award (art. 50 c.1 a-b): the operator and amount the decisione di contrarre names; the
    /// demo states them on the lot, PCP creates the appalto awarded (AD3) and the award follows at once.
    pub direct_award: Option<DirectAward>,
    /// What the fixture expects (awarded, deserted, revoked): the demo refuses to finish otherwise.
    pub expected: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Lot {
    pub number: u32,
    /// A CIG of the old kind (SIMOG): unused since the demo gets its CIGs from PCP.
    #[allow(dead_code)]
    pub cig: String,
    /// The lot's data for ANAC's schede (`PATCH …/lots/{id}` `pcp`), when the profile's defaults do not fit.
    #[serde(default)]
    pub pcp: Option<serde_json::Value>,
    pub title: String,
    pub base_amount: String,
    /// Labour costs, part of the base, outside the ribasso (art. 41 c.14); the bids on the lot declare
    /// their own (art. 108 c.9): the demo's operators declare the same figure.
    pub labour_costs: Option<String>,
    /// Safety costs, part of the base, outside the ribasso (art. 41 c.14).
    pub safety_costs: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bid {
    pub operator: String,
    pub lot: u32,
    pub discount: String,
    pub coefficients: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DirectAward {
    /// The operator's key.
    pub operator: String,
    /// The amount awarded, euro.
    pub amount: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Revoke {
    pub reason: String,
}

pub fn load() -> anyhow::Result<Fixture> {
    let jd = &mut serde_json::Deserializer::from_str(DEMO_JSON);
    serde_path_to_error::deserialize(jd)
        .map_err(|e| anyhow::anyhow!("fixtures/demo.json: {}: {}", e.path(), e.inner()))
}
