//! Italian mail templates, kept as files and rendered with minijinja.
//!
//! For every event `<name>` the template directory (default `config/templates/mail/`) holds
//! `<name>.subject.txt`, `<name>.txt` (plain-text body) and `<name>.html` (HTML alternative, auto-escaped).
//! Files starting with `_` are shared layouts/partials. All files are read and compiled by
//! [`Templates::load`], so a missing or broken template is a start-up error, not a failed mail.
//!
//! Context values: dates as ISO `YYYY-MM-DD`, instants as RFC 3339, amounts as decimal strings.
//! Filters: `data` (→ `01/12/2026`), `data_ora` (→ `01/12/2026 alle ore 12:00`, Europe/Rome),
//! `euro` (→ `€ 1.234.567,89`). Undefined variables are errors (strict mode), so a template cannot
//! silently print an empty CIG.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Timelike};
use chrono_tz::Europe::Rome;
use minijinja::{AutoEscape, Environment, ErrorKind, Output, State, UndefinedBehavior, Value};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::Error;

macro_rules! templates {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, required: [$($key:literal),* $(,)?] ;)*) => {
        /// The events that owe a communication, one template each.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MailTemplate {
            $( $(#[$doc])* $variant, )*
        }

        impl MailTemplate {
            /// Every template, in declaration order.
            pub const ALL: &'static [MailTemplate] = &[$(MailTemplate::$variant),*];

            /// The file-name stem, also stored in the outbox row.
            pub fn name(self) -> &'static str {
                match self { $(MailTemplate::$variant => $name,)* }
            }

            /// Context keys the template cannot do without (checked at enqueue, before the transaction commits).
            pub fn required_keys(self) -> &'static [&'static str] {
                match self { $(MailTemplate::$variant => &["recipient_name", "link", $($key),*],)* }
            }
        }

        impl FromStr for MailTemplate {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($name => Ok(MailTemplate::$variant),)*
                    other => Err(Error::invalid("template", format!("unknown template `{other}`"))),
                }
            }
        }
    };
}

templates! {
    /// To the municipality: its procurement request reached the SUA.
    RequestReceived = "request_received", required: ["request_ref", "request_title", "received_at"];
    /// To the municipality: the SUA accepted the request (act, RUP, CIG when already acquired).
    RequestAccepted = "request_accepted", required: ["request_ref", "request_title", "act_type", "act_number", "act_date"];
    /// To the municipality: the request is returned for completion, with the reasons.
    RequestReturned = "request_returned", required: ["request_ref", "request_title", "reasons"];
    /// To the municipality: the request is rejected, with the act and the reasons.
    RequestRejected = "request_rejected", required: ["request_ref", "request_title", "act_type", "act_number", "act_date", "reasons"];
    /// To the municipality (and subscribed operators): the tender is published, with the deadline.
    TenderPublished = "tender_published", required: ["tender_title", "tender_ref", "act_type", "act_number", "act_date", "published_at", "deadline"];
    /// To an invited operator of a negotiated procedure: the lettera d'invito.
    Invitation = "invitation", required: ["tender_title", "tender_ref", "act_type", "act_number", "act_date", "deadline"];
    /// To registered participants: a clarification was answered (art. 88 c.3).
    ClarificationAnswered = "clarification_answered", required: ["tender_title", "tender_ref", "answered_at", "deadline"];
    /// To registered participants: the offer deadline is extended (art. 92).
    DeadlineExtended = "deadline_extended", required: ["tender_title", "tender_ref", "act_type", "act_number", "act_date", "previous_deadline", "new_deadline"];
    /// To the bidder: receipt of its offer.
    BidReceipt = "bid_receipt", required: ["tender_title", "tender_ref", "received_at", "receipt_ref", "deadline"];
    /// To the bidder: soccorso istruttorio request (art. 101 c.1), with the term.
    SoccorsoIstruttorio = "soccorso_istruttorio", required: ["tender_title", "tender_ref", "cig", "missing", "term_end"];
    /// To the bidder: admitted to the next phase.
    Admission = "admission", required: ["tender_title", "tender_ref", "cig", "act_type", "act_number", "act_date"];
    /// To the excluded bidder, with reasons (art. 90 c.1 d).
    Exclusion = "exclusion", required: ["tender_title", "tender_ref", "cig", "act_type", "act_number", "act_date", "reasons"];
    /// Award (art. 90 c.1 b–c): to the awardee (`is_awardee = true`) and to the other participants, with
    /// the standstill end (c.2) or the reason it does not apply.
    Award = "award", required: ["tender_title", "tender_ref", "cig", "act_type", "act_number", "act_date", "awardee_name", "is_awardee"];
    /// Decision not to award (art. 90 c.1 a): to all candidates and bidders.
    NotAwarded = "not_awarded", required: ["tender_title", "tender_ref", "act_type", "act_number", "act_date", "reasons"];
    /// Revocation / annulment in autotutela: to all participants and the municipality.
    Revocation = "revocation", required: ["tender_title", "tender_ref", "act_type", "act_number", "act_date", "reasons"];
    /// Contract signed (art. 90 c.1 e): to the municipality, the awardee and the participants of c).
    ContractSigned = "contract_signed", required: ["tender_title", "tender_ref", "cig", "awardee_name", "contract_date"];
    /// To bidders who started but did not submit: the deadline is near.
    DeadlineReminder = "deadline_reminder", required: ["tender_title", "tender_ref", "deadline"];
    /// To the operator whose offer appears abnormally low: request for explanations (art. 110, term ≤ 15 days).
    AnomalyExplanationRequest = "anomaly_explanation_request", required: ["tender_title", "tender_ref", "cig", "elements", "term_end"];
    /// To all candidates: the tender documents were amended (art. 92 c.2 b), with the deadline now in force.
    DocumentsAmended = "documents_amended", required: ["tender_title", "tender_ref", "act_type", "act_number", "act_date", "changes", "deadline"];
    /// To the municipality: a step of the procedure it is kept informed of (per the convenzione); `event` is
    /// one of [`MUNICIPALITY_EVENTS`].
    MunicipalityUpdate = "municipality_update", required: ["tender_title", "tender_ref", "event", "details"];
    /// To a listed operator: its listing in the Province's register (elenco) expires soon, and how to renew it.
    ListingExpiryReminder = "listing_expiry_reminder", required: ["province_name", "category", "expires_on"];
}

/// Values of `event` accepted by [`MailTemplate::MunicipalityUpdate`] (they match the lifecycle crate's
/// communication kinds addressed to the Comune).
pub const MUNICIPALITY_EVENTS: &[&str] = &[
    "cig_acquired",
    "submissions_closed",
    "admissions_and_exclusions",
    "commission_composition",
    "award_proposal",
    "verification_outcome",
    "award",
    "suspension",
    "contract_date",
    "decision_not_to_award",
    "invitation",
];

impl MailTemplate {
    /// Groups of keys of which at least one must be present (e.g. the award states the standstill end or
    /// why there is none, art. 90 c.2 / art. 55 c.2).
    pub fn required_one_of(self) -> &'static [&'static [&'static str]] {
        match self {
            MailTemplate::Award => &[&[
                "standstill_end",
                "standstill_days",
                "standstill_not_applicable",
            ]],
            _ => &[],
        }
    }
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// Reads and compiles every `.txt` and `.html` file of `dir`; fails if a template of [`MailTemplate::ALL`] is missing or
    /// does not parse. `globals` are visible to every template (e.g. `organization`, the SUA's name).
    pub fn load(dir: &Path, globals: &BTreeMap<String, String>) -> Result<Self, Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(formatter);
        env.add_filter("data", filter_data);
        env.add_filter("data_ora", filter_data_ora);
        env.add_filter("euro", filter_euro);
        for (k, v) in globals {
            env.add_global(k.clone(), v.clone());
        }
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::Template(format!("cannot read {}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::Template(format!("{}: {e}", dir.display())))?;
            let path = entry.path();
            let is_template = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("txt" | "html")
            );
            if !path.is_file() || !is_template {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let source = std::fs::read_to_string(&path)
                .map_err(|e| Error::Template(format!("cannot read {}: {e}", path.display())))?;
            env.add_template_owned(name, source)
                .map_err(|e| Error::Template(format!("{}: {e}", path.display())))?;
        }
        for template in MailTemplate::ALL {
            for suffix in ["subject.txt", "txt", "html"] {
                let file = format!("{}.{suffix}", template.name());
                if env.get_template(&file).is_err() {
                    return Err(Error::Template(format!(
                        "missing template file {}",
                        dir.join(&file).display()
                    )));
                }
            }
        }
        Ok(Self { env })
    }

    /// Renders subject (one line), plain text and HTML of `template` with `context`.
    pub fn render(
        &self,
        template: MailTemplate,
        context: &serde_json::Value,
    ) -> Result<Rendered, Error> {
        let render = |suffix: &str| -> Result<String, Error> {
            let file = format!("{}.{suffix}", template.name());
            let tmpl = self
                .env
                .get_template(&file)
                .map_err(|e| Error::Template(format!("{file}: {e}")))?;
            tmpl.render(context)
                .map_err(|e| Error::Template(format!("{file}: {}", describe(&e))))
        };
        let subject = render("subject.txt")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if subject.is_empty() {
            return Err(Error::Template(format!(
                "{}.subject.txt renders an empty subject",
                template.name()
            )));
        }
        Ok(Rendered {
            subject,
            text: render("txt")?,
            html: render("html")?,
        })
    }
}

/// HTML escaping of `& < > " '` only: minijinja's default also escapes `/`, which turns links and dates
/// into `10&#x2f;11&#x2f;2026` in the HTML source; that is valid but needlessly opaque in a mail.
fn formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), minijinja::Error> {
    match (state.auto_escape(), value.as_str()) {
        (AutoEscape::Html, Some(s)) if !value.is_safe() => {
            for c in s.chars() {
                match c {
                    '&' => out.write_str("&amp;")?,
                    '<' => out.write_str("&lt;")?,
                    '>' => out.write_str("&gt;")?,
                    '"' => out.write_str("&quot;")?,
                    '\'' => out.write_str("&#39;")?,
                    c => out.write_char(c)?,
                }
            }
            Ok(())
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn italian_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn bad_value(filter: &str, value: &str, expected: &str) -> minijinja::Error {
    minijinja::Error::new(
        ErrorKind::InvalidOperation,
        format!("filter `{filter}`: `{value}` is not {expected}"),
    )
}

/// `2026-12-01` or an RFC 3339 instant → `01/12/2026` (instants are read in Europe/Rome).
pub fn filter_data(value: String) -> Result<String, minijinja::Error> {
    if let Ok(d) = NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
        return Ok(italian_date(d));
    }
    DateTime::parse_from_rfc3339(&value)
        .map(|t| italian_date(t.with_timezone(&Rome).date_naive()))
        .map_err(|_| bad_value("data", &value, "a date (YYYY-MM-DD) or an RFC 3339 instant"))
}

/// An RFC 3339 instant → `01/12/2026 alle ore 12:00` in Europe/Rome (legal deadlines are Italian time).
pub fn filter_data_ora(value: String) -> Result<String, minijinja::Error> {
    let t = DateTime::parse_from_rfc3339(&value)
        .map_err(|_| bad_value("data_ora", &value, "an RFC 3339 instant"))?
        .with_timezone(&Rome);
    Ok(format!(
        "{} alle ore {:02}:{:02}",
        italian_date(t.date_naive()),
        t.hour(),
        t.minute()
    ))
}

/// A decimal amount (string) → `€ 1.234.567,89` (two decimals, Italian separators).
pub fn filter_euro(value: String) -> Result<String, minijinja::Error> {
    let plain = !value.is_empty()
        && value
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'));
    let amount = Decimal::from_str(&value)
        .ok()
        .filter(|_| plain)
        .ok_or_else(|| bad_value("euro", &value, "a decimal amount like 1234.50"))?;
    let rounded =
        amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.2}", rounded.abs());
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    Ok(format!("€ {sign}{grouped},{frac}"))
}
