//! JSON request bodies: every input type of the API deserialised from the same bytes (as axum's `Json`
//! does), and a new request through the check the API and the console share. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use service::api::{
    admin, bids, documents, register, requests, tenders,
};

fn body<T: serde::de::DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

fuzz_target!(|data: &[u8]| {
    if let Some(r) = body::<requests::NewRequest>(data) {
        let _ = requests::check_new_request(&r);
    }
    let _ = body::<requests::Reason>(data);
    let _ = body::<requests::NewMessage>(data);
    let _ = body::<requests::AcceptRequest>(data);
    let _ = body::<tenders::NewTender>(data);
    let _ = body::<tenders::NewLot>(data);
    let _ = body::<tenders::LotPatch>(data);
    let _ = body::<tenders::EvaluationRules>(data);
    let _ = body::<tenders::TechnicalEvaluation>(data);
    let _ = body::<tenders::EvaluateInput>(data);
    let _ = body::<bids::NewOperator>(data);
    let _ = body::<bids::BidContent>(data);
    let _ = body::<bids::NewQuestion>(data);
    let _ = body::<bids::NewAnswer>(data);
    let _ = body::<documents::NewDocument>(data);
    let _ = body::<admin::NewProvince>(data);
    let _ = body::<admin::NewMunicipality>(data);
    let _ = body::<admin::NewToken>(data);
    let _ = body::<admin::ClockOverride>(data);
    let _ = body::<register::listings::NewApplication>(data);
    let _ = body::<register::listings::AdmitInput>(data);
    let _ = body::<register::listings::ReasonInput>(data);
    let _ = body::<register::listings::RenewalInput>(data);
    let _ = body::<register::listings::NewPastAward>(data);
    let _ = body::<register::direct::DirectAwardInput>(data);
    let _ = body::<register::invitations::SelectionInput>(data);
    // a lot's evaluation rules as the API stores them, through the evaluation's parser
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        for criterion in ["lowest_price", "quality_price"] {
            let _ = evaluation::parse_rules(criterion, &v);
        }
    }
});
