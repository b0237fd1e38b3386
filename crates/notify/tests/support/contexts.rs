//! A realistic context for every template (what the service will pass).

use notify::MailTemplate;
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "recipient_name": "Edilstrade S.r.l.",
        "link": "https://gare.provincia.example.it/procedure/2026-017",
        "tender_title": "Manutenzione straordinaria della SP 12 \"Valle\" & ponti",
        "tender_ref": "SUA-2026-017",
        "lot_number": 2,
        "lot_title": "Ponte sul torrente Erro",
        "cig": "B1234567AB",
        "act_type": "determinazione dirigenziale",
        "act_number": "1234",
        "act_date": "2026-11-20",
    })
}

fn request_base() -> Value {
    json!({
        "recipient_name": "Comune di Borgo Alto",
        "link": "https://gare.provincia.example.it/richieste/R-2026-045",
        "request_ref": "R-2026-045",
        "request_title": "Servizio di refezione scolastica 2027-2029",
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    let obj = base.as_object_mut().expect("object");
    for (k, v) in extra.as_object().expect("object") {
        obj.insert(k.clone(), v.clone());
    }
    base
}

pub fn full(template: MailTemplate) -> Value {
    use MailTemplate::*;
    match template {
        RequestReceived => with(
            request_base(),
            json!({"received_at": "2026-11-02T09:15:00Z"}),
        ),
        RequestAccepted => with(
            request_base(),
            json!({"act_type": "determinazione dirigenziale", "act_number": "998", "act_date": "2026-11-10",
                   "rup_name": "Ing. Maria Rossi", "cig": "B7654321CD"}),
        ),
        RequestReturned => with(
            request_base(),
            json!({"reasons": "Manca il quadro economico approvato.", "respond_by": "2026-11-30"}),
        ),
        RequestRejected => with(
            request_base(),
            json!({"act_type": "determinazione dirigenziale", "act_number": "999", "act_date": "2026-11-11",
                   "reasons": "L'importo supera la soglia prevista dalla convenzione."}),
        ),
        TenderPublished => with(
            base(),
            json!({"published_at": "2026-11-21T08:00:00Z", "deadline": "2026-12-22T11:00:00Z",
                   "lots": [{"number": 1, "title": "Carreggiata", "cig": "B1234567AA"},
                            {"number": 2, "title": "Ponte sul torrente Erro", "cig": "B1234567AB"}]}),
        ),
        Invitation => with(base(), json!({"deadline": "2026-12-22T11:00:00Z"})),
        ClarificationAnswered => with(
            base(),
            json!({"answered_at": "2026-12-01T14:30:00Z", "clarification_ref": "7", "deadline": "2026-12-22T11:00:00Z"}),
        ),
        DeadlineExtended => with(
            base(),
            json!({"previous_deadline": "2026-12-22T11:00:00Z", "new_deadline": "2027-01-12T11:00:00Z",
                   "reason": "Modifica significativa del capitolato (art. 92, comma 2, lett. b)."}),
        ),
        BidReceipt => with(
            base(),
            json!({"received_at": "2026-12-20T16:42:10Z", "receipt_ref": "OFF-2026-017-0042",
                   "bid_digest": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                   "deadline": "2026-12-22T11:00:00Z"}),
        ),
        SoccorsoIstruttorio => with(
            base(),
            json!({"missing": "DGUE non sottoscritto digitalmente dal legale rappresentante.",
                   "term_end": "2027-01-20T12:00:00Z"}),
        ),
        Admission => base(),
        Exclusion => with(
            base(),
            json!({"reasons": "Mancata regolarizzazione nel termine del soccorso istruttorio (art. 101, comma 2)."}),
        ),
        Award => with(
            base(),
            json!({"awardee_name": "Costruzioni Alfa S.p.A.", "is_awardee": false,
                   "amount": "1234567.8", "vat_excluded": true, "standstill_end": "2027-03-08"}),
        ),
        NotAwarded => with(
            base(),
            json!({"reasons": "Nessuna offerta ammessa (gara deserta)."}),
        ),
        Revocation => with(
            base(),
            json!({"reasons": "Sopravvenuta carenza di copertura finanziaria (art. 21-quinquies L. 241/1990)."}),
        ),
        ContractSigned => with(
            base(),
            json!({"awardee_name": "Costruzioni Alfa S.p.A.", "contract_date": "2027-03-15", "contract_ref": "456"}),
        ),
        DeadlineReminder => with(
            base(),
            json!({"deadline": "2026-12-22T11:00:00Z", "started": "withdrawn"}),
        ),
        AnomalyExplanationRequest => with(
            base(),
            json!({"elements": "Costo della manodopera (voce 3 dell'offerta economica).\nPrezzo unitario del calcestruzzo.",
                   "term_end": "2027-02-10T11:00:00Z"}),
        ),
        DocumentsAmended => with(
            base(),
            json!({"changes": "Sostituito l'elaborato grafico n. 4 (tavola delle opere provvisionali).",
                   "deadline": "2027-01-12T11:00:00Z"}),
        ),
        MunicipalityUpdate => with(
            base(),
            json!({"recipient_name": "Comune di Borgo Alto", "event": "award",
                   "details": "Aggiudicataria: Costruzioni Alfa S.p.A., ribasso 12,345%.",
                   "standstill_end": "2027-03-08"}),
        ),
        ListingExpiryReminder => json!({
            "recipient_name": "Edilstrade S.r.l.",
            "link": "https://gare.provincia.example.it/v1/register/listings/0193",
            "province_name": "Provincia di Esempio",
            "category": "OG3",
            "soa_class": "III-bis",
            "expires_on": "2027-01-31",
            "days_before": 30,
            "days_left": 30,
        }),
    }
}

/// Only the keys the template requires (plus one of each `required_one_of` group).
pub fn minimal(template: MailTemplate) -> Value {
    let full = full(template);
    let mut out = serde_json::Map::new();
    for key in template.required_keys() {
        let value = full
            .get(*key)
            .cloned()
            .or_else(|| (*key == "is_awardee").then_some(json!(true)))
            .unwrap_or_else(|| panic!("fixture of {} lacks {key}", template.name()));
        out.insert((*key).to_owned(), value);
    }
    for group in template.required_one_of() {
        let key = group[group.len() - 1];
        out.insert(
            key.to_owned(),
            json!("contratto di importo inferiore alle soglie europee (art. 55, comma 2)"),
        );
    }
    Value::Object(out)
}
