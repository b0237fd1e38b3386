//! The eForms we build (contract notice 16 inside P1_16, award notice 29 inside A1_29) are validated against
//! the vendored eForms SDK 1.15 XSDs (UBL 2.3 + eForms extensions, `spec/eforms/`).
//!
//! The project's pure-Rust validator, `xmlschema` 0.0.14 (used for ANAC's L.190 files), cannot compile the
//! UBL schemas: it refuses them with "the schema's content models expand past 100000 particles" (UBL's
//! aggregate types reference each other many times and it expands content models eagerly). It also matches
//! elements by local name only and leaves `udt:`/`qdt:` type references unresolved across imports.
//! `xmlschema_cannot_compile_the_ubl_schemas` asserts exactly that refusal, so a release that can compile
//! them makes it fail and tells us to switch.
//!
//! So the XSD validation runs with libxml2's `xmllint` (Debian `libxml2-utils`), as the eForms SDK
//! documents: set `SUA_XMLLINT=xmllint` (see `build.rs`), e.g.
//! `SUA_XMLLINT=xmllint cargo test -p pcp --test eforms`. Without it those tests are *ignored*, with this
//! reason in the output. The SDK's own example notices are validated the same way, as a control.

use chrono::{TimeZone, Utc};
use pcp::{eforms, example};

const CN_XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/spec/eforms/maindoc/UBL-ContractNotice-2.3.xsd"
);
const CAN_XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/spec/eforms/maindoc/UBL-ContractAwardNotice-2.3.xsd"
);

/// `xmllint --noout --schema XSD -`: the violations it reports (empty when the file validates).
#[allow(dead_code)]
fn xmllint(xml: &str, xsd: &str) -> Vec<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = std::env::var("SUA_XMLLINT").unwrap_or_else(|_| "xmllint".into());
    let mut child = Command::new(&program)
        .args(["--noout", "--nonet", "--schema", xsd, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("SUA_XMLLINT={program} cannot run: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    if out.status.success() {
        assert!(text.contains("validates"), "{text}");
        Vec::new()
    } else {
        let v: Vec<String> = text
            .lines()
            .filter(|l| !l.contains("fails to validate"))
            .map(str::to_owned)
            .collect();
        assert!(!v.is_empty(), "xmllint failed without a message: {text}");
        v
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

const IGNORE: &str = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)";

#[test]
fn xmlschema_cannot_compile_the_ubl_schemas() {
    macro_rules! xsd {
        ($p:literal) => {
            ($p, include_str!(concat!("../spec/eforms/common/", $p)))
        };
    }
    let common: Vec<(&str, &str)> = vec![
        xsd!("BDNDR-CCTS_CCT_SchemaModule-1.1.xsd"),
        xsd!("BDNDR-UnqualifiedDataTypes-1.1.xsd"),
        xsd!("EFORMS-ExtensionAggregateComponents-2.3.xsd"),
        xsd!("EFORMS-ExtensionApex-2.3.xsd"),
        xsd!("EFORMS-ExtensionBasicComponents-2.3.xsd"),
        xsd!("UBL-CommonAggregateComponents-2.3.xsd"),
        xsd!("UBL-CommonBasicComponents-2.3.xsd"),
        xsd!("UBL-CommonExtensionComponents-2.3.xsd"),
        xsd!("UBL-ExtensionContentDataType-2.3.xsd"),
        xsd!("UBL-QualifiedDataTypes-2.3.xsd"),
    ];
    let mut parts = common.clone();
    for (f, t) in &common {
        parts.push((Box::leak(format!("../common/{f}").into_boxed_str()), t));
    }
    let err = xmlschema::parse_schema_with(
        include_str!("../spec/eforms/maindoc/UBL-ContractNotice-2.3.xsd"),
        &&parts[..],
    )
    .expect_err("xmlschema now compiles UBL: validate the eForms with it instead of xmllint");
    assert!(
        err.message
            .contains("content models expand past 100000 particles"),
        "{}",
        err.message
    );
}

#[test]
#[cfg_attr(
    not(sua_xmllint),
    ignore = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)"
)]
fn the_sdk_examples_validate_control() {
    let _ = IGNORE;
    let v = xmllint(
        include_str!("../spec/eforms/examples/cn_24_minimal.xml"),
        CN_XSD,
    );
    assert!(v.is_empty(), "{v:#?}");
    let v = xmllint(
        include_str!("../spec/eforms/examples/can_25_ITA.xml"),
        CAN_XSD,
    );
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn the_notices_are_well_formed_and_carry_their_subtype() {
    let a = example::appalto(now());
    let cn = eforms::contract_notice(&a, &eforms::NoticeIds::example(), now()).unwrap();
    oxml::parse(&cn).expect("well-formed");
    assert!(cn.contains(r#"<cbc:SubTypeCode listName="notice-subtype">16</cbc:SubTypeCode>"#));
    let can = eforms::award_notice(
        &a,
        &example::esito(),
        &example::elenco(),
        &eforms::NoticeIds::example(),
        now(),
    )
    .unwrap();
    oxml::parse(&can).expect("well-formed");
    assert!(can.contains(r#"<cbc:SubTypeCode listName="notice-subtype">29</cbc:SubTypeCode>"#));
}

#[test]
#[cfg_attr(
    not(sua_xmllint),
    ignore = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)"
)]
fn contract_notice_16_is_valid_against_the_eforms_xsd() {
    let a = example::appalto(now());
    let xml = eforms::contract_notice(&a, &eforms::NoticeIds::example(), now()).unwrap();
    let v = xmllint(&xml, CN_XSD);
    assert!(v.is_empty(), "{v:#?}\n{xml}");
    assert!(xml.contains(r#"<cbc:SubTypeCode listName="notice-subtype">16</cbc:SubTypeCode>"#));
    assert!(xml.contains(r#"<cbc:ID schemeName="Lot">LOT-0002</cbc:ID>"#));
    assert!(xml.contains(r#"<cbc:EstimatedOverallContractAmount currencyID="EUR">255000</cbc:EstimatedOverallContractAmount>"#));
    assert!(xml.contains(
        r#"<cbc:ServiceTypeCode listName="organisation-role">serv-prov</cbc:ServiceTypeCode>"#
    ));
}

#[test]
#[cfg_attr(
    not(sua_xmllint),
    ignore = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)"
)]
fn award_notice_29_is_valid_against_the_eforms_xsd() {
    let a = example::appalto(now());
    let xml = eforms::award_notice(
        &a,
        &example::esito(),
        &example::elenco(),
        &eforms::NoticeIds::example(),
        now(),
    )
    .unwrap();
    let v = xmllint(&xml, CAN_XSD);
    assert!(v.is_empty(), "{v:#?}\n{xml}");
    assert!(xml.contains(r#"<cbc:SubTypeCode listName="notice-subtype">29</cbc:SubTypeCode>"#));
    assert_eq!(
        xml.matches("<efac:SettledContract>").count(),
        4,
        "two winners: two results, two contracts"
    );
}

#[test]
#[cfg_attr(
    not(sua_xmllint),
    ignore = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)"
)]
fn award_notice_29_without_a_winner_is_valid_against_the_eforms_xsd() {
    // lot 1 deserted (no tenders), lot 2 revoked after the bids: `clos-nw` with BT-144's reason
    let a = example::appalto(now());
    let mut e = example::esito();
    e.aggiudicazioni[0].offerte.clear();
    e.aggiudicazioni[0].offerte_ammesse = 0;
    e.aggiudicazioni[0].senza_vincitore = Some(pcp::codes::GiustificazioneEsito::NessunaOfferta);
    for o in &mut e.aggiudicazioni[1].offerte {
        o.aggiudicatario = false;
    }
    e.aggiudicazioni[1].annullata = Some(pcp::codes::EsitoProceduraAnnullata::DopoLAvvio);
    e.aggiudicazioni[1].senza_vincitore = Some(pcp::codes::GiustificazioneEsito::Altro);
    let xml = eforms::award_notice(
        &a,
        &e,
        &example::elenco(),
        &eforms::NoticeIds::example(),
        now(),
    )
    .unwrap();
    let v = xmllint(&xml, CAN_XSD);
    assert!(v.is_empty(), "{v:#?}\n{xml}");
    assert_eq!(
        xml.matches(">clos-nw</cbc:TenderResultCode>").count(),
        2,
        "{xml}"
    );
    assert!(xml.contains(
        r#"<efbc:DecisionReasonCode listName="non-award-justification">no-rece</efbc:DecisionReasonCode>"#
    ));
    assert_eq!(
        xml.matches("<efac:SettledContract>").count(),
        0,
        "no contract"
    );
    let s = pcp::schede::a1_29(&e, &xml, now()).unwrap();
    assert_eq!(
        s.body["anacForm"]["aggiudicazioni"][1]["esitoProceduraAnnullata"]["codice"],
        "7"
    );
}

#[test]
#[cfg_attr(
    not(sua_xmllint),
    ignore = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)"
)]
fn a_broken_notice_is_refused_by_the_validator() {
    let a = example::appalto(now());
    let xml = eforms::contract_notice(&a, &eforms::NoticeIds::example(), now()).unwrap();
    // an element out of UBL's order, and an unknown one
    let swapped = xml.replacen("<cbc:UBLVersionID>2.3</cbc:UBLVersionID>", "", 1).replacen(
        "<cbc:NoticeLanguageCode>ITA</cbc:NoticeLanguageCode>",
        "<cbc:NoticeLanguageCode>ITA</cbc:NoticeLanguageCode><cbc:UBLVersionID>2.3</cbc:UBLVersionID>",
        1,
    );
    assert!(!xmllint(&swapped, CN_XSD).is_empty());
    let unknown = xml.replacen(
        "<cbc:VersionID>01</cbc:VersionID>",
        "<cbc:VersionID>01</cbc:VersionID><cbc:Bogus>1</cbc:Bogus>",
        1,
    );
    assert!(!xmllint(&unknown, CN_XSD).is_empty());
}
