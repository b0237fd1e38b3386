//! OCDS release packages: content per lifecycle event, parties and roles, bid statistics, exact amounts;
//! validated against the OCDS 1.1.5 schema (compiled in, offline, with the `jsonschema` crate: see
//! `common/ocds_schema.rs` for what it checks compared with libcoveocds); refusals name the field.

mod common;
#[path = "common/ocds_schema.rs"]
mod ocds_schema;

use anac::l190::SceltaContraente;
use anac::ocds::*;
use chrono::{DateTime, TimeZone, Utc};
use common::*;
use domain::ids::CodiceFiscale;
use ocds_schema::*;
use rust_decimal::Decimal;
use serde_json::Value as Json;

fn t(d: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, m, d, 10, 0, 0).unwrap()
}

fn org(cf: CodiceFiscale, name: &str) -> Organization {
    Organization {
        id: OrgId::CodiceFiscale(cf),
        name: name.into(),
        address: None,
        contact: None,
    }
}

fn config() -> OcdsConfig {
    OcdsConfig {
        ocid_prefix: "ocds-abc123".into(),
        package_base_uri: "https://sua.provincia.esempio.it/ocds/".into(),
        publisher_name: "Provincia di Esempio - SUA".into(),
        publisher_cf: Some(numeric_cf(80_000_001)),
        publisher_uri: Some("https://sua.provincia.esempio.it".into()),
        license: Some("https://creativecommons.org/licenses/by/4.0/".into()),
        publication_policy: None,
        procuring_entity: Organization {
            address: Some(Address {
                locality: Some("Esempio".into()),
                country_name: Some("Italia".into()),
                ..Address::default()
            }),
            contact: Some(Contact {
                email: Some("sua@provincia.esempio.it".into()),
                ..Contact::default()
            }),
            ..org(
                numeric_cf(80_000_001),
                "Provincia di Esempio - Stazione Unica Appaltante",
            )
        },
    }
}

fn record() -> TenderRecord {
    let alfa = org(numeric_cf(123_456_789), "Alfa Costruzioni S.r.l.");
    let beta = Organization {
        id: OrgId::Foreign {
            scheme: "DE-VAT".into(),
            id: "DE123456789".into(),
        },
        ..org(numeric_cf(1), "Beta Bau GmbH")
    };
    let gamma = org(numeric_cf(222_222_222), "Gamma S.p.A.");
    let delta = org(numeric_cf(333_333_333), "Delta S.r.l.");
    let ev = |id: &str, date, kind, tender_status| LifecycleEvent {
        id: id.into(),
        date,
        kind,
        tender_status,
    };
    TenderRecord {
        id: "2024-007".into(),
        title: "Manutenzione scuole comunali".into(),
        description: Some("Due lotti".into()),
        buyer: org(numeric_cf(80_000_002), "Comune di Esempio"),
        procedure: SceltaContraente::ProceduraAperta,
        category: Category::Works,
        award_criteria: Some(AwardCriteria::RatedCriteria),
        value: Some(Decimal::new(30_000_000, 2)),
        tender_period: Some(Period {
            start: Some(t(1, 3)),
            end: Some(t(31, 3)),
        }),
        lots: vec![
            LotRecord {
                id: "L1".into(),
                cig: Some(smart_cig(11)),
                title: "Scuola primaria".into(),
                description: None,
                value: Some(Decimal::new(20_000_000, 2)),
            },
            LotRecord {
                id: "L2".into(),
                cig: Some(smart_cig(12)),
                title: "Scuola media".into(),
                description: None,
                value: Some(Decimal::new(10_000_000, 2)),
            },
        ],
        bids: vec![
            BidRecord {
                id: "B1".into(),
                lot_ids: vec!["L1".into()],
                bidder: Bidder::Group(vec![alfa.clone(), beta.clone()]),
                date: t(20, 3),
                status: BidStatus::Valid,
                value: Some(Decimal::new(18_500_050, 2)),
            },
            BidRecord {
                id: "B2".into(),
                lot_ids: vec!["L1".into(), "L2".into()],
                bidder: Bidder::Single(gamma.clone()),
                date: t(21, 3),
                status: BidStatus::Disqualified,
                value: None,
            },
            BidRecord {
                id: "B3".into(),
                lot_ids: vec!["L2".into()],
                bidder: Bidder::Single(delta.clone()),
                date: t(22, 3),
                status: BidStatus::Valid,
                value: Some(Decimal::new(9_000_000, 2)),
            },
            BidRecord {
                id: "B4".into(),
                lot_ids: vec!["L2".into()],
                bidder: Bidder::Single(gamma.clone()),
                date: t(23, 3),
                status: BidStatus::Withdrawn,
                value: None,
            },
        ],
        awards: vec![
            AwardRecord {
                id: "A1".into(),
                lot_ids: vec!["L1".into()],
                bid_id: Some("B1".into()),
                suppliers: Bidder::Group(vec![alfa, beta]),
                date: t(15, 4),
                status: AwardStatus::Active,
                value: Some(Decimal::new(18_500_050, 2)),
            },
            AwardRecord {
                id: "A2".into(),
                lot_ids: vec!["L2".into()],
                bid_id: Some("B3".into()),
                suppliers: Bidder::Single(delta),
                date: t(16, 4),
                status: AwardStatus::Active,
                value: Some(Decimal::new(9_000_000, 2)),
            },
        ],
        contracts: vec![ContractRecord {
            id: "C1".into(),
            award_id: "A1".into(),
            title: Some("Contratto lotto 1".into()),
            value: Some(Decimal::new(18_500_050, 2)),
            date_signed: t(20, 5),
            period: Some(Period {
                start: Some(t(1, 6)),
                end: Some(t(30, 11)),
            }),
            status: ContractStatus::Active,
            payments: vec![Payment {
                id: "P1".into(),
                date: t(15, 7),
                amount: Decimal::new(5_000_012, 2),
            }],
        }],
        events: vec![
            // deliberately out of order: releases come out sorted by date
            ev(
                "e5-payment",
                t(16, 7),
                EventKind::Implementation,
                TenderStatus::Complete,
            ),
            ev(
                "e1-tender",
                t(1, 3),
                EventKind::Tender,
                TenderStatus::Active,
            ),
            ev(
                "e2-amend",
                t(10, 3),
                EventKind::TenderAmendment,
                TenderStatus::Active,
            ),
            ev("e3-award", t(16, 4), EventKind::Award, TenderStatus::Active),
            ev(
                "e4-contract",
                t(20, 5),
                EventKind::Contract,
                TenderStatus::Complete,
            ),
        ],
    }
}

fn json(record: &TenderRecord) -> Json {
    let pkg = release_package(record, &config(), t(1, 8)).unwrap();
    let mut out = Vec::new();
    write_package(&pkg, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn package_validates_against_the_ocds_schema_and_a_broken_one_does_not() {
    let doc = json(&record());
    assert_valid_ocds(&doc);

    // the check has teeth: a tag outside the closed releaseTag codelist is reported
    let mut wrong_tag = doc.clone();
    wrong_tag["releases"][0]["tag"] = serde_json::json!(["notATag"]);
    let p = ocds_problems(&wrong_tag);
    assert!(
        p.len() == 1 && p[0].starts_with("/releases/0/tag/0:") && p[0].contains("notATag"),
        "{p:?}"
    );

    // a missing ocid, an amount that is not a number, a date that is not a date-time, an id twice
    let mut broken = doc.clone();
    broken["releases"][1]
        .as_object_mut()
        .unwrap()
        .remove("ocid");
    broken["releases"][2]["tender"]["value"]["amount"] = serde_json::json!("300000,00");
    broken["releases"][3]["date"] = serde_json::json!("20/05/2024");
    let award = broken["releases"][2]["awards"][0].clone();
    broken["releases"][2]["awards"][1] = award;
    let p = ocds_problems(&broken);
    let has = |at: &str, what: &str| p.iter().any(|l| l.starts_with(at) && l.contains(what));
    assert!(has("/releases/1:", "ocid"), "{p:?}");
    assert!(
        has("/releases/2/tender/value/amount:", "300000,00"),
        "{p:?}"
    );
    assert!(has("/releases/3/date:", "date-time"), "{p:?}");
    assert!(has("/releases/2/awards/1:", "non-unique id"), "{p:?}");

    // and the package level: no publisher, a version that is not major.minor
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("publisher");
    broken["version"] = serde_json::json!("1.1.5");
    let p = ocds_problems(&broken);
    assert!(p.iter().any(|l| l.contains("publisher")), "{p:?}");
    assert!(p.iter().any(|l| l.starts_with("/version:")), "{p:?}");
}

#[test]
fn one_release_per_event_in_date_order_with_the_state_as_of_that_date() {
    let doc = json(&record());
    assert_eq!(
        doc["uri"],
        "https://sua.provincia.esempio.it/ocds/2024-007.json"
    );
    assert_eq!(doc["publishedDate"], "2024-08-01T10:00:00Z");
    assert_eq!(doc["publisher"]["scheme"], "IT-CF");
    let rels = doc["releases"].as_array().unwrap();
    let ids: Vec<&str> = rels.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "e1-tender",
            "e2-amend",
            "e3-award",
            "e4-contract",
            "e5-payment"
        ]
    );
    let tags: Vec<&str> = rels.iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
    assert_eq!(
        tags,
        [
            "tender",
            "tenderAmendment",
            "award",
            "contract",
            "implementation"
        ]
    );
    for r in rels {
        assert_eq!(r["ocid"], "ocds-abc123-2024-007");
        assert_eq!(r["tender"]["procurementMethod"], "open");
        assert_eq!(
            r["tender"]["procurementMethodDetails"],
            "01-PROCEDURA APERTA"
        );
        assert_eq!(r["tender"]["lots"].as_array().unwrap().len(), 2);
    }
    assert_eq!(rels[0]["tender"]["status"], "active");
    assert_eq!(rels[3]["tender"]["status"], "complete");

    // before the deadline: no bids at all (sealed)
    assert!(rels[0].get("bids").is_none() && rels[1].get("bids").is_none());
    assert!(rels[1]["tender"].get("numberOfTenderers").is_none());
    // award release: bids, statistics, awards; no contract yet
    let r = &rels[2];
    assert_eq!(r["bids"]["details"].as_array().unwrap().len(), 4);
    assert_eq!(r["awards"].as_array().unwrap().len(), 2);
    assert!(r.get("contracts").is_none());
    // contract release: the contract, no payment yet; implementation release: the payment
    assert_eq!(rels[3]["contracts"][0]["awardID"], "A1");
    assert!(rels[3]["contracts"][0].get("implementation").is_none());
    assert_eq!(
        rels[4]["contracts"][0]["implementation"]["transactions"][0]["value"]["amount"],
        serde_json::json!(50000.12)
    );
}

#[test]
fn bid_statistics_per_tender_and_per_lot() {
    let doc = json(&record());
    let stats = doc["releases"][2]["bids"]["statistics"].as_array().unwrap();
    let get = |id: &str| -> (u64, Option<&str>) {
        let s = stats
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"));
        (s["value"].as_u64().unwrap(), s["relatedLot"].as_str())
    };
    // B4 is withdrawn: not counted
    assert_eq!(get("bids"), (3, None));
    assert_eq!(get("validBids"), (2, None));
    assert_eq!(get("disqualifiedBids"), (1, None));
    assert_eq!(get("bids-L1"), (2, Some("L1")));
    assert_eq!(get("validBids-L1"), (1, Some("L1")));
    assert_eq!(get("bids-L2"), (2, Some("L2")));
    assert_eq!(get("disqualifiedBids-L2"), (1, Some("L2")));
    // tenderers: RTI members count one each; Gamma once although it bid twice
    assert_eq!(doc["releases"][2]["tender"]["numberOfTenderers"], 4);
}

#[test]
fn parties_carry_their_roles() {
    let doc = json(&record());
    let r = &doc["releases"][4];
    let roles = |name: &str| -> Vec<String> {
        let p = r["parties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        p["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(roles("Comune di Esempio"), ["buyer"]);
    assert_eq!(
        roles("Provincia di Esempio - Stazione Unica Appaltante"),
        ["procuringEntity"]
    );
    assert_eq!(roles("Alfa Costruzioni S.r.l."), ["tenderer", "supplier"]);
    assert_eq!(roles("Beta Bau GmbH"), ["tenderer", "supplier"]);
    assert_eq!(roles("Gamma S.p.A."), ["tenderer"]);
    let buyer_id = r["buyer"]["id"].as_str().unwrap();
    assert_eq!(
        buyer_id,
        format!("IT-CF-{}", numeric_cf(80_000_002).as_str())
    );
    assert_eq!(
        r["tender"]["procuringEntity"]["id"],
        format!("IT-CF-{}", numeric_cf(80_000_001).as_str())
    );
    let beta = r["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Beta Bau GmbH")
        .unwrap();
    assert_eq!(beta["id"], "DE-VAT-DE123456789");
    assert_eq!(beta["identifier"]["scheme"], "DE-VAT");
}

#[test]
fn amounts_are_exact_json_numbers() {
    let pkg = release_package(&record(), &config(), t(1, 8)).unwrap();
    let text = serde_json::to_string(&pkg).unwrap();
    assert!(
        text.contains(r#""value":{"amount":185000.5,"currency":"EUR"}"#),
        "{text}"
    );
    assert!(text.contains(r#""amount":300000,"#));
    // a value beyond f64's exact range keeps every digit
    let mut r = record();
    r.value = Some(Decimal::new(999_999_999_999_999, 2) * Decimal::new(1000, 0));
    let text = serde_json::to_string(&release_package(&r, &config(), t(1, 8)).unwrap()).unwrap();
    assert!(text.contains(r#""amount":9999999999999990"#), "{text}");
}

#[test]
fn the_cig_of_each_lot_is_carried() {
    let doc = json(&record());
    assert_eq!(
        doc["releases"][0]["tender"]["lots"][0]["cig"],
        smart_cig(11).as_str()
    );
}

fn refused(mutate: impl FnOnce(&mut TenderRecord, &mut OcdsConfig)) -> String {
    let (mut r, mut c) = (record(), config());
    mutate(&mut r, &mut c);
    release_package(&r, &c, t(1, 8)).unwrap_err().field
}

#[test]
fn bad_records_are_refused_naming_the_field() {
    assert_eq!(
        refused(|_, c| c.ocid_prefix = "ocds-ABC123".into()),
        "config.ocid_prefix"
    );
    assert_eq!(
        refused(|_, c| c.ocid_prefix = "abc".into()),
        "config.ocid_prefix"
    );
    assert_eq!(
        refused(|_, c| c.package_base_uri = "sua/ocds".into()),
        "config.package_base_uri"
    );
    assert_eq!(refused(|r, _| r.id = "2024 007".into()), "record.id");
    assert_eq!(refused(|r, _| r.events.clear()), "record.events");
    assert_eq!(
        refused(|r, _| r.events[1].id = "e5-payment".into()),
        "record.events[1].id"
    );
    assert_eq!(
        refused(|r, _| r.lots[1].id = "L1".into()),
        "record.lots[1].id"
    );
    assert_eq!(
        refused(|r, _| r.bids[2].lot_ids = vec!["L9".into()]),
        "record.bids[2].lot_ids[0]"
    );
    assert_eq!(
        refused(|r, _| r.awards[0].bid_id = Some("B9".into())),
        "record.awards[0].bid_id"
    );
    assert_eq!(
        refused(|r, _| r.contracts[0].award_id = "A9".into()),
        "record.contracts[0].award_id"
    );
    assert_eq!(
        refused(|r, _| r.bids[0].bidder = Bidder::Group(vec![org(numeric_cf(5), "Sola")])),
        "record.bids[0].bidder"
    );
    assert_eq!(
        refused(|r, _| r.bids[2].value = Some(Decimal::new(-1, 0))),
        "record.bids[2].value"
    );
    assert_eq!(
        refused(|r, _| r.buyer.name = " ".into()),
        "record.buyer.name"
    );
    assert_eq!(
        refused(|r, _| r.tender_period = Some(Period {
            start: Some(t(2, 3)),
            end: Some(t(1, 3))
        })),
        "record.tender_period"
    );
    let e = release_package(
        &{
            let mut r = record();
            r.events.clear();
            r
        },
        &config(),
        t(1, 8),
    )
    .unwrap_err();
    assert!(e.to_string().contains("record.events"), "{e}");
}

#[test]
fn procurement_methods_cover_every_code() {
    let methods = ["open", "selective", "limited", "direct"];
    for s in SceltaContraente::ALL {
        assert!(methods.contains(&procurement_method(*s)), "{s}");
    }
    assert_eq!(
        procurement_method(SceltaContraente::AffidamentoDiretto),
        "direct"
    );
    assert_eq!(
        procurement_method(SceltaContraente::NegoziataSottoSoglia),
        "limited"
    );
    assert_eq!(
        procurement_method(SceltaContraente::ProceduraRistretta),
        "selective"
    );
}
