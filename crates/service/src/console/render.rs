//! Templates (embedded in the binary) and the Italian formatting of amounts, dates and states.

use super::Ctx;
use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use minijinja::{Environment, Value, context};
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("macros.html", include_str!("templates/macros.html")),
    (
        "public_list.html",
        include_str!("templates/public_list.html"),
    ),
    (
        "public_tender.html",
        include_str!("templates/public_tender.html"),
    ),
    ("buyer_home.html", include_str!("templates/buyer_home.html")),
    ("admin_home.html", include_str!("templates/admin_home.html")),
    (
        "admin_audit.html",
        include_str!("templates/admin_audit.html"),
    ),
    (
        "buyer_requests.html",
        include_str!("templates/buyer_requests.html"),
    ),
    (
        "buyer_tender.html",
        include_str!("templates/buyer_tender.html"),
    ),
    ("muni_home.html", include_str!("templates/muni_home.html")),
    (
        "muni_request.html",
        include_str!("templates/muni_request.html"),
    ),
    (
        "bidder_home.html",
        include_str!("templates/bidder_home.html"),
    ),
    (
        "bidder_tender.html",
        include_str!("templates/bidder_tender.html"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("console template {name}: {e}"));
        }
        env.add_filter("euro", |s: String| euro(&s));
        env.add_filter("data", |s: String| date(&s, true));
        env.add_filter("giorno", |s: String| date(&s, false));
        env.add_filter("stato", |s: String| label(&s).to_owned());
        env
    })
}

/// `"180000.5"` → `"€ 180.000,50"`; anything else unchanged.
pub fn euro(s: &str) -> String {
    let Ok(d) = s.parse::<rust_decimal::Decimal>() else {
        return s.to_owned();
    };
    let d = d.round_dp(2);
    let neg = d.is_sign_negative();
    let text = format!("{:.2}", d.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("€ {}{grouped},{frac}", if neg { "-" } else { "" })
}

/// An RFC 3339 instant as Italian local time (Europe/Rome).
pub fn date(s: &str, with_time: bool) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(d) => {
            let local = d.with_timezone(&chrono_tz::Europe::Rome);
            if with_time {
                local.format("%d/%m/%Y %H:%M").to_string()
            } else {
                local.format("%d/%m/%Y").to_string()
            }
        }
        Err(_) => s.to_owned(),
    }
}

/// The Italian name of a state, event or procedure (unknown codes pass through).
pub fn label(code: &str) -> &str {
    match code {
        // tender states
        "draft" => "bozza",
        "approved" => "determina adottata",
        "ready" => "CIG acquisiti",
        "requests_open" => "domande aperte",
        "prequalification" => "prequalifica",
        "open" => "offerte aperte",
        "closed" => "offerte chiuse",
        "in_evaluation" => "in valutazione",
        "completed" => "conclusa",
        "deserted" => "deserta",
        "revoked" => "revocata",
        "annulled" => "annullata",
        // tender events
        "adopt_decision_to_contract" => "Adotta la determina a contrarre",
        "acquire_cig" => "Acquisisci i CIG",
        "publish" => "Pubblica il bando",
        "publish_call_for_requests" => "Pubblica l'avviso per le domande",
        "close_requests" => "Chiudi le domande",
        "send_invitations" => "Invia gli inviti",
        "answer_clarification" => "Rispondi a un chiarimento",
        "amend_documents" => "Rettifica i documenti",
        "extend_deadline" => "Proroga la scadenza",
        "close_submissions" => "Chiudi la ricezione delle offerte",
        "declare_deserted" => "Dichiara deserta",
        "start_evaluation" => "Avvia la valutazione",
        "start_direct_award" => "Avvia l'affidamento diretto",
        "complete" => "Concludi",
        "revoke" => "Revoca",
        "annul" => "Annulla",
        // lot states and events
        "pending" => "in attesa",
        "admin_review" => "verifica amministrativa",
        "tech_eval" => "valutazione tecnica",
        "econ_eval" => "valutazione economica",
        "anomaly_check" => "verifica dell'anomalia",
        "proposed" => "proposta di aggiudicazione",
        "verified" => "requisiti verificati",
        "awarded" => "aggiudicato",
        "suspended" => "sospeso",
        "ready_to_sign" => "pronto per la stipula",
        "contracted" => "contratto stipulato",
        "not_awarded" => "non aggiudicato",
        "invited" => "invitata",
        "proposed_awardee" => "proposta aggiudicataria",
        "awardee" => "aggiudicataria",
        "no_offer" => "nessuna offerta",
        "exclude_all" => "Escludi tutte le offerte",
        "appoint_commission" => "Nomina la commissione",
        "freeze_technical_scores" => "Congela i punteggi tecnici",
        "resolve_tie" => "Risolvi la parità",
        "auto_exclude_anomalous" => "Escludi le offerte anomale",
        "start_anomaly_check" => "Avvia la verifica dell'anomalia",
        "accept_justification" => "Accetta le giustificazioni",
        "reject_justification" => "Respingi le giustificazioni",
        "no_suitable_offer" => "Nessuna offerta idonea",
        "verification_failed" => "Verifica dei requisiti non superata",
        "record_award_communications" => "Registra le comunicazioni di aggiudicazione",
        "notify_cautelare" => "Notifica un ricorso cautelare",
        "cautelare_decided" => "Ricorso cautelare deciso",
        "reopen_ranking" => "Riapri la graduatoria",
        "competitiva_con_negoziazione" => "competitiva con negoziazione",
        "dialogo_competitivo" => "dialogo competitivo",
        "partenariato_innovazione" => "partenariato per l'innovazione",
        "open_administrative" => "Apri le buste amministrative",
        "start_technical_evaluation" => "Avvia la valutazione tecnica",
        "start_economic_evaluation" => "Avvia la valutazione economica",
        "open_economic_offers" => "Apri le offerte economiche",
        "propose_award" => "Proponi l'aggiudicazione",
        "verify_requirements" => "Verifica i requisiti",
        "award" => "Aggiudica",
        "standstill_elapsed" => "Termine dilatorio decorso",
        "sign_contract" => "Stipula il contratto",
        // participation
        "submitted" => "presentata",
        "withdrawn" => "ritirata",
        "admitted" => "ammessa",
        "excluded" => "esclusa",
        "in_soccorso" => "in soccorso istruttorio",
        "ranked" => "in graduatoria",
        "admit" => "Ammetti",
        "exclude" => "Escludi",
        "request_soccorso" => "Richiedi il soccorso istruttorio",
        // roles, mail outbox
        "sua_buyer" => "buyer della SUA",
        "municipality" => "Comune",
        "bidder" => "operatore economico",
        "commissioner" => "commissario di gara",
        "platform_admin" => "amministratore della piattaforma",
        "queued" => "in coda",
        "sending" => "in invio",
        // PCP calls
        "in_coda" => "in coda",
        "crea_appalto" => "crea appalto",
        "conferma_appalto" => "conferma appalto",
        "pubblica_avviso" => "pubblica avviso",
        "cure_soccorso" => "Registra la regolarizzazione dell'operatore",
        "soccorso_expired" => "Termine del soccorso scaduto",
        // requests
        "returned" => "restituita con domande",
        "accepted" => "accettata",
        "rejected" => "respinta",
        // procedures and criteria
        "aperta" => "procedura aperta",
        "ristretta" => "procedura ristretta",
        "negoziata_senza_bando" => "negoziata senza bando",
        "negoziata_senza_pubblicazione" => "negoziata senza pubblicazione",
        "affidamento_diretto" => "affidamento diretto",
        "lowest_price" => "minor prezzo",
        "best_quality_price" => "offerta economicamente più vantaggiosa",
        "works" => "lavori",
        "services" => "servizi",
        "supplies" => "forniture",
        "sent" => "inviato",
        "failed" => "non recapitato",
        other => other,
    }
}

/// Render `name` inside the base layout, with the caller, the CSRF token and the flash messages.
pub fn page(ctx: &Ctx, name: &str, extra: Value) -> Response {
    let principal = ctx.session.as_ref().and_then(|s| s.principal.as_ref());
    let base = context! {
        csrf => ctx.csrf(),
        role => principal.map(|p| p.role.as_str()),
        home => principal.map(|p| super::home_of(p.role)),
        flash_ok => ctx.flash_ok,
        flash_err => ctx.flash_err,
        field_err => ctx.flash_at.as_ref().map(|(form, field)| context! {
            form => form, field => field, message => ctx.flash_err,
        }),
    };
    let merged = context! { ..extra, ..base };
    let html = env()
        .get_template(name)
        .and_then(|t| t.render(merged))
        .unwrap_or_else(|e| {
            tracing::error!(error = ?e, template = name, "console template");
            format!(
                "<!doctype html><title>Errore</title><p>Errore di visualizzazione ({name}).</p>"
            )
        });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::HeaderName::from_static("content-security-policy"),
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                     frame-ancestors 'none'; form-action 'self'",
                ),
            ),
            (
                header::HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
        ],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_dates_in_italian() {
        assert_eq!(euro("180000.5"), "€ 180.000,50");
        assert_eq!(euro("999"), "€ 999,00");
        assert_eq!(euro("1234567.89"), "€ 1.234.567,89");
        assert_eq!(euro("x"), "x");
        assert_eq!(date("2027-03-01T10:00:00Z", true), "01/03/2027 11:00");
        assert_eq!(label("open"), "offerte aperte");
    }

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            env().get_template(name).unwrap();
        }
    }
}
