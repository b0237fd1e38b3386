//! The compiled-in XSD validator: ANAC's schemas are enforced in full, every vendored sample validates,
//! and broken files are rejected with the path and the reason.

mod common;

use std::fs;

use anac::l190::{XsdDocument, unenforced, validate_dataset, validate_index};
use common::*;

const DATASETS: &[&str] = &[
    "handwritten-valid-dataset.xml",
    "sito-interporto-torino-2021-10lotti.xml",
    "sito-interporto-torino-2022-1220lotti.xml",
];

fn handwritten() -> String {
    fs::read_to_string(sample("handwritten-valid-dataset.xml")).unwrap()
}

/// The problems reported for a dataset, as `path: message` lines.
fn problems(xml: &str) -> Vec<String> {
    validate_dataset(xml.as_bytes())
        .unwrap_err()
        .violations
        .iter()
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn every_construct_of_anacs_schemas_is_enforced() {
    assert_eq!(unenforced(XsdDocument::Dataset), Vec::<String>::new());
    assert_eq!(unenforced(XsdDocument::Index), Vec::<String>::new());
}

#[test]
fn every_vendored_sample_validates() {
    for name in DATASETS {
        assert_valid_dataset(&sample(name));
    }
    assert_valid_index(&sample("handwritten-valid-index.xml"));
}

#[test]
fn a_dataset_is_not_an_index_and_vice_versa() {
    let dataset = fs::read(sample("handwritten-valid-dataset.xml")).unwrap();
    let index = fs::read(sample("handwritten-valid-index.xml")).unwrap();
    assert!(validate_index(&dataset).is_err());
    let e = validate_dataset(&index).unwrap_err();
    assert_eq!(e.schema, XsdDocument::Dataset);
    assert!(e.to_string().contains("datasetAppaltiL190.xsd"), "{e}");
}

#[test]
fn broken_datasets_are_rejected_naming_path_and_reason() {
    let ok = handwritten();
    // a code outside the enumeration
    let p = problems(&ok.replacen("<sceltaContraente>", "<sceltaContraente>99-", 1));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("/lotto[1]/sceltaContraente"), "{p:?}");
    // a codice fiscale that fits none of the three patterns
    let p = problems(&ok.replacen(
        "<codiceFiscaleProp>00000000000<",
        "<codiceFiscaleProp>0000000000X<",
        1,
    ));
    assert!(
        p.iter()
            .any(|l| l.contains("codiceFiscaleProp") && l.contains("0000000000X")),
        "{p:?}"
    );
    // an amount with three decimals (fractionDigits 2)
    let p = problems(&ok.replacen("<importoAggiudicazione>", "<importoAggiudicazione>0.001", 1));
    assert!(
        p.iter().any(|l| l.contains("importoAggiudicazione")),
        "{p:?}"
    );
    // a missing required element
    let start = ok.find("<oggetto>").unwrap();
    let end = ok.find("</oggetto>").unwrap() + "</oggetto>".len();
    let p = problems(&format!("{}{}", &ok[..start], &ok[end..]));
    assert!(p.iter().any(|l| l.contains("oggetto")), "{p:?}");
    // a date that is not xsd:date
    let p = problems(&ok.replacen(
        "<dataPubblicazioneDataset>",
        "<dataPubblicazioneDataset>31/12/",
        1,
    ));
    assert!(
        p.iter().any(|l| l.contains("dataPubblicazioneDataset")),
        "{p:?}"
    );
    // the wrong namespace on the root, a qualified child (xmlschema matches local names; our check)
    let p = problems(&ok.replacen("legge190_1_0", "legge190_9_9", 1));
    assert_eq!(
        p,
        [
            "/pubblicazione: element `pubblicazione` must be in namespace `legge190_1_0`, not in namespace `legge190_9_9`"
        ]
    );
    let p = problems(
        &ok.replacen("<metadata>", "<legge190:metadata>", 1)
            .replacen("</metadata>", "</legge190:metadata>", 1),
    );
    assert_eq!(
        p,
        [
            "/pubblicazione/metadata: element `metadata` must be in no namespace, not in namespace `legge190_1_0`"
        ]
    );
    // not XML at all
    let e = validate_dataset(b"<pubblicazione>").unwrap_err();
    assert!(e.to_string().contains("not well-formed"), "{e}");
}

#[test]
fn undeclared_attributes_are_rejected() {
    // xmlschema 0.0.14 accepts them; anac's check refuses them (xmllint does too)
    let ok = handwritten();
    let p = problems(&ok.replacen("<metadata>", "<metadata foo=\"1\">", 1));
    assert_eq!(
        p,
        ["/pubblicazione/metadata/@foo: attribute `foo` is not allowed on `metadata`"]
    );
    let p = problems(&ok.replace("<lotto>", "<lotto id=\"1\">"));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[1].starts_with("/pubblicazione/data/lotto[2]/@id:"),
        "{p:?}"
    );
    // xsi attributes and namespace declarations are not attributes of the schema
    assert!(
        validate_dataset(
            ok.replacen("<data>", "<data xmlns:x=\"urn:x\" xsi:nil=\"false\">", 1)
                .as_bytes()
        )
        .is_ok()
    );
    // the one attribute ANAC declares: the index's dataset id, unqualified
    let index = fs::read_to_string(sample("handwritten-valid-index.xml")).unwrap();
    let e = validate_index(
        index
            .replacen("<indice>", "<indice id=\"X\">", 1)
            .replacen(
                "<dataset id=",
                "<dataset xmlns:q=\"urn:q\" q:id=\"ID_9\" id=",
                1,
            )
            .as_bytes(),
    )
    .unwrap_err();
    let p: Vec<String> = e.violations.iter().map(|v| v.to_string()).collect();
    assert_eq!(
        p,
        [
            "/indici/indice/@id: attribute `id` is not allowed on `indice`",
            "/indici/indice/dataset[1]/@id: attribute `id` must be in no namespace, not `urn:q`"
        ]
    );
}

/// The supplementary attribute check knows every attribute the schemas declare.
#[test]
fn anacs_schemas_declare_one_attribute() {
    use anac::l190::{DATASET_XSD, INDEX_XSD, TYPES_XSD};
    assert_eq!(DATASET_XSD.matches("<xsd:attribute").count(), 0);
    assert_eq!(TYPES_XSD.matches("<xsd:attribute").count(), 0);
    assert_eq!(INDEX_XSD.matches("<xsd:attribute").count(), 1);
    assert!(INDEX_XSD.contains("<xsd:attribute name=\"id\" type=\"xsd:ID\" use=\"required\"/>"));
    for xsd in [DATASET_XSD, INDEX_XSD, TYPES_XSD] {
        assert!(!xsd.contains("anyAttribute") && !xsd.contains("attributeGroup"));
    }
}

#[test]
fn a_broken_index_is_rejected() {
    let ok = fs::read_to_string(sample("handwritten-valid-index.xml")).unwrap();
    let e = validate_index(ok.replacen(" id=\"", " xid=\"", 1).as_bytes()).unwrap_err();
    assert!(e.to_string().contains("dataset"), "{e}");
    assert!(e.to_string().contains("`xid` is not allowed"), "{e}");
    // xs:ID values are unique and NCNames
    let e = validate_index(ok.replace("ID_2", "ID_1").as_bytes()).unwrap_err();
    assert!(e.to_string().contains("ID_1"), "{e}");
    let e = validate_index(ok.replace("ID_2", "2").as_bytes()).unwrap_err();
    assert!(e.to_string().contains("@id"), "{e}");
    let e = validate_index(
        ok.replacen("<linkDataset>", "<linkDataset2>", 1)
            .replacen("</linkDataset>", "</linkDataset2>", 1)
            .as_bytes(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("linkDataset"), "{e}");
}
