//! `sua demo` end to end: runs the binary into a temporary directory and checks what it leaves behind
//! against expectations computed independently from `fixtures/demo.json` (the winners with the
//! `evaluation` crate on the fixture's own bids), the mails on disk, the XML against ANAC's XSD (the
//! demo validates it itself; checked again here with `anac::l190`) and the OCDS package against the
//! OCDS 1.1.5 schema (`jsonschema`, offline).

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../anac/tests/common/ocds_schema.rs"]
mod ocds_schema;

const SUA: &str = env!("CARGO_BIN_EXE_sua");
const FIXTURE: &str = include_str!("../../../fixtures/demo.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixtures/demo.json parses")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The winner (operator key), the excluded operators and the threshold the evaluation crate gives for
/// the fixture's bids on one lot, with the operator keys as bid ids.
fn expected(t: &Value, lot: u64) -> (String, BTreeSet<String>, Option<String>) {
    let base = t["lots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number"] == lot)
        .unwrap()["base_amount"]
        .clone();
    let bids: Vec<Value> = t["bids"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["lot"] == lot)
        .map(|b| {
            let mut e = json!({"id": b["operator"], "discount": b["discount"]});
            if !b["coefficients"].is_null() {
                e["coefficients"] = b["coefficients"].clone();
            }
            e
        })
        .collect();
    let mut input = json!({"criterion": t["criterion"], "base_amount": base, "bids": bids});
    if t["criterion"] == "quality_price" {
        let mut technical = t["technical"].clone();
        for c in technical["criteria"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("label");
        }
        input["technical"] = technical;
        input["economic"] = t["economic"].clone();
    } else {
        input["anomaly"] = t["anomaly"].clone();
    }
    let out: Value = evaluation::evaluate_json(&input.to_string()).expect("evaluates");
    let excluded = out["anomaly"]["excluded"]
        .as_array()
        .map(|a| a.iter().map(|x| s(x).to_owned()).collect())
        .unwrap_or_default();
    let threshold = out["anomaly"]["threshold"].as_str().map(str::to_owned);
    (s(&out["winner"]).to_owned(), excluded, threshold)
}

fn run_demo(out: &Path, cwd: &Path) -> std::process::Output {
    Command::new(SUA)
        .arg("demo")
        .arg("--out")
        .arg(out)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env_remove("SUA_DATABASE__URL")
        .output()
        .expect("run sua demo")
}

/// Recipients (addresses in `To:`) and subject of every `.eml` file.
fn mails(dir: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(p.extension().and_then(|x| x.to_str()), Some("eml"), "{p:?}");
        let text = std::fs::read_to_string(&p).unwrap();
        // unfold headers
        let head = text
            .split("\r\n\r\n")
            .next()
            .unwrap_or(&text)
            .replace("\r\n ", " ");
        let head = head
            .split("\n\n")
            .next()
            .unwrap_or(&head)
            .replace("\n ", " ");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let to = header("To:");
        let addr = to
            .rsplit_once('<')
            .map(|(_, a)| a.trim_end_matches('>').to_owned())
            .unwrap_or(to);
        v.push((addr, header("Subject:")));
    }
    v
}

/// One run of the demo shared by the tests of this file (in Cargo's per-test temporary directory).
fn demo() -> &'static (PathBuf, std::process::Output) {
    static RUN: std::sync::OnceLock<(PathBuf, std::process::Output)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let cwd =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cwd);
        std::fs::create_dir_all(&cwd).unwrap();
        let out = cwd.join("demo-out");
        let o = run_demo(&out, &cwd);
        (out, o)
    })
}

#[test]
fn demo_drives_every_fixture_procurement_and_leaves_valid_outputs() {
    let (out, o) = demo();
    let out = out.as_path();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "sua demo failed\n{stdout}\n{stderr}");
    let fx = fixture();
    let ops: BTreeMap<&str, (&str, &str)> = fx["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (s(&o["key"]), (s(&o["name"]), s(&o["pec"]))))
        .collect();

    // every lot's outcome, against the evaluation crate run on the fixture's bids
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let lots = summary["lots"].as_array().unwrap();
    let find = |tender: &str, lot: u64| {
        lots.iter()
            .find(|e| e["tender"] == tender && e["lot"] == lot)
            .unwrap_or_else(|| panic!("no outcome for {tender} lot {lot}: {summary}"))
    };
    let (mut awarded, mut direct) = (0, 0);
    for t in fx["tenders"].as_array().unwrap() {
        let key = s(&t["key"]);
        for l in t["lots"].as_array().unwrap() {
            let n = l["number"].as_u64().unwrap();
            let got = find(key, n);
            match s(&t["expected"]) {
                // a direct award (art. 50 c.1 b): the operator and amount of the decisione di contrarre
                "awarded" if t["procedure"] == "affidamento_diretto" => {
                    direct += 1;
                    assert_eq!(got["outcome"], "contracted", "{key} lot {n}: {got}");
                    let d = &t["direct_award"];
                    assert_eq!(got["winner"], d["operator"], "{key} lot {n}: {got}");
                    assert_eq!(got["amount"], d["amount"], "{key} lot {n}: {got}");
                    assert!(
                        stdout.contains(&format!(
                            "[{key}] lot {n}: AWARDED to {} (direct award",
                            ops[s(&d["operator"])].0
                        )),
                        "timeline names the direct award of {key}\n{stdout}"
                    );
                }
                "awarded" => {
                    awarded += 1;
                    assert_eq!(got["outcome"], "contracted", "{key} lot {n}: {got}");
                    let (winner, excluded, threshold) = expected(t, n);
                    assert!(
                        !winner.is_empty(),
                        "{key} lot {n}: the fixture has a winner"
                    );
                    assert_eq!(s(&got["winner"]), winner, "{key} lot {n}");
                    assert!(
                        stdout.contains(&format!("lot {n}: AWARDED to {}", ops[winner.as_str()].0)),
                        "timeline names the winner of {key} lot {n}\n{stdout}"
                    );
                    if t["criterion"] == "lowest_price" {
                        let got_excl: BTreeSet<String> = got["excluded"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| s(x).to_owned())
                            .collect();
                        assert_eq!(got_excl, excluded, "{key}: method A exclusions");
                        assert!(!excluded.is_empty(), "{key}: method A excludes some bids");
                        assert_eq!(got["threshold"].as_str(), threshold.as_deref(), "{key}");
                        let verbale = std::fs::read_to_string(
                            out.join("verbali").join(format!("{key}-lot{n}.md")),
                        )
                        .unwrap();
                        assert!(verbale.contains(&threshold.unwrap()), "{verbale}");
                        assert!(verbale.contains("decrement"), "{verbale}");
                    } else {
                        let verbale = std::fs::read_to_string(
                            out.join("verbali").join(format!("{key}-lot{n}.md")),
                        )
                        .unwrap();
                        assert!(verbale.contains("technical"), "{verbale}");
                        assert!(verbale.contains("riparametr"), "{verbale}");
                    }
                }
                "deserted" => {
                    assert_eq!(got["outcome"], "deserted", "{key}");
                    assert_eq!(got["tender_state"], "deserted", "{key}");
                    assert!(
                        stdout.contains(&format!("[{key}] lot {n}: DESERTED")),
                        "{stdout}"
                    );
                }
                "revoked" => {
                    assert_eq!(got["outcome"], "revoked", "{key}");
                    assert_eq!(got["tender_state"], "revoked", "{key}");
                    assert!(
                        stdout.contains(&format!("[{key}] lot {n}: REVOKED")),
                        "{stdout}"
                    );
                    let reason = s(&t["revoke"]["reason"]);
                    assert!(stdout.contains(reason), "revocation reason printed");
                }
                other => panic!("unknown expectation {other}"),
            }
        }
    }
    assert_eq!(
        awarded, 5,
        "two single-lot tenders and three lots of services"
    );
    assert_eq!(direct, 1, "one direct award");
    assert_eq!(
        std::fs::read_dir(out.join("verbali")).unwrap().count(),
        awarded,
        "one verbale per evaluated lot"
    );

    // mails: a receipt for every bid to its bidder, a lettera d'invito to every invitee, the clarification
    // notice to its asker, the soccorso istruttorio request to its bidder; for an awarded lot the award
    // (art. 90 c.1 b-c) and the contract date (c.1 e) to every bidder of the lot; for a revoked tender the
    // revocation to every bidder; to the municipality's PEC, each step of its request and procedure (below);
    // nothing else
    let written = mails(&out.join("mail"));
    let comuni: BTreeMap<&str, &str> = fx["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(&m["key"]), s(&m["pec"])))
        .collect();
    let mut want: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for t in fx["tenders"].as_array().unwrap() {
        // the municipality: its request received, returned when it has no CUP (the demo asks for it),
        // accepted; the CIG; the publication or, for a negotiated procedure, the invitations; then a
        // revocation before the deadline ends it, otherwise the close of submissions and either the
        // decision not to award (deserted) or, per lot, admissions, commission (quality-price), award
        // proposal, verification, award and contract
        let pec = comuni[s(&t["municipality"])].to_owned();
        let mut comune: Vec<&str> = vec!["Richiesta ricevuta"];
        if t["cup"].is_null() {
            comune.push("Richiesta da integrare");
        }
        comune.extend(["Richiesta accettata", "CIG acquisito"]);
        if t["procedure"] == "affidamento_diretto" {
            // no publication, no bids: the award proposal (start_direct_award), the verification, the
            // award (to the Comune and to the operator) and the contract
            comune.extend([
                "Proposta di aggiudicazione",
                "Verifica dei requisiti",
                "Aggiudicazione (Comune)",
                "Stipula",
            ]);
            for kind in comune {
                *want.entry((pec.clone(), kind)).or_default() += 1;
            }
            *want
                .entry((
                    ops[s(&t["direct_award"]["operator"])].1.to_owned(),
                    "Aggiudicazione",
                ))
                .or_default() += 1;
            continue;
        }
        let negotiated = t["invitees"].as_array().is_some_and(|a| !a.is_empty());
        comune.push(if negotiated {
            "Inviti trasmessi"
        } else {
            "Procedura pubblicata"
        });
        if !t["revoke"].is_null() {
            assert_eq!(t["revoke"]["before"], "deadline", "{t}");
            comune.push("Revoca");
        } else {
            comune.push("Chiusura del termine");
            match s(&t["expected"]) {
                "deserted" => comune.push("Decisione di non aggiudicare"),
                "awarded" => {
                    for _ in t["lots"].as_array().unwrap() {
                        comune.push("Ammissioni ed esclusioni");
                        if t["criterion"] == "quality_price" {
                            comune.push("Commissione");
                        }
                        comune.extend([
                            "Proposta di aggiudicazione",
                            "Verifica dei requisiti",
                            "Aggiudicazione (Comune)",
                            "Stipula",
                        ]);
                    }
                }
                other => panic!("unknown expectation {other}"),
            }
        }
        for kind in comune {
            *want.entry((pec.clone(), kind)).or_default() += 1;
        }
        for b in t["bids"].as_array().unwrap() {
            *want
                .entry((ops[s(&b["operator"])].1.to_owned(), "Ricevuta"))
                .or_default() += 1;
        }
        // the demo's first bidder of a quality-price tender asks a clarification and is told of the answer
        if t["criterion"] == "quality_price" {
            let asker = s(&t["bids"][0]["operator"]);
            *want
                .entry((ops[asker].1.to_owned(), "Chiarimento"))
                .or_default() += 1;
        }
        for i in t["invitees"].as_array().into_iter().flatten() {
            *want.entry((ops[s(i)].1.to_owned(), "Invito")).or_default() += 1;
        }
        // the demo's soccorso istruttorio: second bidder of an open lowest-price tender with 10+ bids
        let bids = t["bids"].as_array().unwrap();
        if t["procedure"] == "aperta" && t["criterion"] == "lowest_price" && bids.len() >= 10 {
            *want
                .entry((ops[s(&bids[1]["operator"])].1.to_owned(), "Soccorso"))
                .or_default() += 1;
        }
        let lifecycle: &[&str] = match s(&t["expected"]) {
            "awarded" => &["Aggiudicazione", "Stipula"],
            "revoked" => &["Revoca"],
            _ => &[],
        };
        for b in bids {
            for kind in lifecycle {
                *want
                    .entry((ops[s(&b["operator"])].1.to_owned(), *kind))
                    .or_default() += 1;
            }
        }
    }
    let mut got: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (to, subject) in &written {
        let kind = if subject.starts_with("Richiesta ricevuta") {
            "Richiesta ricevuta"
        } else if subject.starts_with("Richiesta da integrare") {
            "Richiesta da integrare"
        } else if subject.starts_with("Richiesta accettata") {
            "Richiesta accettata"
        } else if subject.starts_with("CIG acquisito") {
            "CIG acquisito"
        } else if subject.starts_with("Procedura pubblicata") {
            "Procedura pubblicata"
        } else if subject.starts_with("Lettere d'invito trasmesse") {
            "Inviti trasmessi"
        } else if subject.starts_with("Chiusura del termine per le offerte") {
            "Chiusura del termine"
        } else if subject.starts_with("Decisione di non aggiudicare") {
            "Decisione di non aggiudicare"
        } else if subject.starts_with("Provvedimento di ammissioni ed esclusioni") {
            "Ammissioni ed esclusioni"
        } else if subject.starts_with("Composizione della commissione giudicatrice") {
            "Commissione"
        } else if subject.starts_with("Proposta di aggiudicazione") {
            "Proposta di aggiudicazione"
        } else if subject.starts_with("Esito della verifica dei requisiti") {
            "Verifica dei requisiti"
        } else if subject.starts_with("Aggiudicazione:") {
            "Aggiudicazione (Comune)"
        } else if subject.starts_with("Ricevuta") {
            "Ricevuta"
        } else if subject.starts_with("Comunicazione di aggiudicazione") {
            "Aggiudicazione"
        } else if subject.starts_with("Stipula del contratto") {
            "Stipula"
        } else if subject.starts_with("Revoca") {
            "Revoca"
        } else if subject.starts_with("Soccorso istruttorio") {
            "Soccorso"
        } else if subject.contains("Invito") || subject.contains("invito") {
            "Invito"
        } else if subject.starts_with("Chiarimento") {
            "Chiarimento"
        } else {
            panic!("unexpected mail to {to}: {subject}")
        };
        *got.entry((to.clone(), kind)).or_default() += 1;
    }
    assert_eq!(got, want, "mail recipients");
    let total: usize = want.values().sum();
    assert!(
        total > 62,
        "more than the 62 receipts, invitations and clarification notice"
    );
    assert_eq!(written.len(), total, "one mail per recipient and event");
    assert!(
        stdout.contains(&format!("{total} mails written")),
        "{stdout}"
    );

    // the L.190 XML validates against ANAC's XSD, and the demo said so
    let mut xml = 0;
    for e in std::fs::read_dir(out.join("anac")).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        let valid = if p.ends_with("indice.xml") {
            anac::l190::validate_index(&bytes)
        } else {
            anac::l190::validate_dataset(&bytes)
        };
        if let Err(e) = valid {
            panic!("{p:?} {e}");
        }
        xml += 1;
    }
    assert!(out.join("anac/indice.xml").is_file());
    assert!(xml >= 2, "a dataset and the index");
    // the CIGs are PCP's (ANAC's check characters), one per lot, and reach the L.190 dataset
    let dataset = std::fs::read_to_string(out.join("anac/dataset_1.xml")).unwrap();
    let cigs: BTreeSet<&str> = lots.iter().map(|e| s(&e["cig"])).collect();
    assert_eq!(cigs.len(), lots.len(), "one CIG per lot: {summary}");
    for e in lots.iter().filter(|e| e["outcome"] != "revoked") {
        let cig = s(&e["cig"]);
        domain::ids::Cig::parse(cig).unwrap_or_else(|err| panic!("{cig}: {err}"));
        assert!(dataset.contains(cig), "{cig} in the L.190 dataset");
    }
    assert!(
        stdout.contains("XML validation: 2 file(s) validated against ANAC's XSD"),
        "the demo reports the validation\n{stdout}"
    );

    // the OCDS package validates against the OCDS 1.1.5 schema
    let pkgs: Vec<PathBuf> = std::fs::read_dir(out.join("ocds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pkgs.len(), 1, "{pkgs:?}");
    ocds_schema::assert_valid_ocds_file(&pkgs[0]);
    assert!(out.join("sua.db").is_file());

    // a second run into the same, now non-empty, directory is refused, naming the flag
    let again = run_demo(out, out.parent().unwrap());
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("--out") && err.contains("not empty"), "{err}");
}

/// The calls `pcp/calls.json` lists for one tender, as `(operation, scheda, lot)`.
fn pcp_calls(out: &Path, tender: &str) -> Vec<(String, String, Option<u64>)> {
    let calls: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pcp/calls.json")).unwrap())
            .unwrap();
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tender"] == tender)
        .map(|c| {
            assert_eq!(c["status"], "confermata", "{c}");
            (
                s(&c["operation"]).to_owned(),
                s(&c["scheda"]).to_owned(),
                c["lot"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn demo_sends_every_scheda_to_the_mock_pcp_and_writes_each_valid_against_anacs_schema() {
    let (out, o) = demo();
    assert!(
        o.status.success(),
        "sua demo failed\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let pcp = out.join("pcp");
    // the open tender above the threshold follows ANAC's worked example: crea-appalto P1_16 → conferma
    // (esito with the CIGs) → pubblica-avviso → S2 (bidders) → A1_29 (award) → SC1 (contract), per lot
    let c = pcp_calls(out, "servizi-sanvito");
    let ops: Vec<(&str, &str)> = c.iter().map(|(o, s, _)| (o.as_str(), s.as_str())).collect();
    assert_eq!(
        &ops[..3],
        [
            ("crea_appalto", "P1_16"),
            ("conferma_appalto", ""),
            ("pubblica_avviso", "")
        ],
        "{c:?}"
    );
    for lot in 1..=3u64 {
        let of_lot: Vec<&str> = c
            .iter()
            .filter(|x| x.2 == Some(lot))
            .map(|x| x.1.as_str())
            .collect();
        assert_eq!(of_lot, ["S2", "A1_29", "SC1"], "lot {lot}: {c:?}");
        for code in ["S2", "A1_29", "SC1"] {
            assert!(
                pcp.join(format!("{code}-servizi-sanvito-lotto{lot}.json"))
                    .is_file()
            );
        }
        assert!(
            pcp.join(format!("eforms/A1_29-servizi-sanvito-lotto{lot}.xml"))
                .is_file()
        );
    }
    assert!(pcp.join("P1_16-servizi-sanvito.json").is_file());
    assert!(pcp.join("eforms/P1_16-servizi-sanvito.xml").is_file());
    // negotiated without notice: P7_2 at the CIG, S1_2 (the invitees) when the offer deadline passes (the
    // scheduler's closing act enqueues it), then the bidders, the award and the contract
    let c = pcp_calls(out, "scuola-borgofranco");
    let ops: Vec<(&str, &str)> = c.iter().map(|(o, s, _)| (o.as_str(), s.as_str())).collect();
    assert_eq!(
        ops,
        [
            ("crea_appalto", "P7_2"),
            ("conferma_appalto", ""),
            ("scheda", "S1_2"),
            ("scheda", "S2"),
            ("scheda", "A2_29"),
            ("scheda", "SC1")
        ],
        "{c:?}"
    );
    let s1: Value = serde_json::from_str(
        &std::fs::read_to_string(pcp.join("S1_2-scuola-borgofranco.json")).unwrap(),
    )
    .unwrap();
    let invited = s1
        .pointer("/scheda/body/anacForm/elencoSoggetti/0/elencoInvitati")
        .unwrap();
    let fx = fixture();
    let scuola = fx["tenders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "scuola-borgofranco")
        .unwrap();
    assert_eq!(
        invited.as_array().unwrap().len(),
        scuola["invitees"].as_array().unwrap().len(),
        "every invitee: {invited}"
    );
    // below the threshold P2_16 and A2_29; the deserted and the revoked tender are above it: A1_29
    // without a winner (NAG is for the lots below it), with their award notices
    for f in [
        "P2_16-strade-castelrupe.json",
        "A2_29-strade-castelrupe-lotto1.json",
        "P7_2-scuola-borgofranco.json",
        "A1_29-illuminazione-pratovecchio.json",
        "A1_29-palestra-montebello.json",
        "eforms/A1_29-illuminazione-pratovecchio.xml",
        "eforms/A1_29-palestra-montebello.xml",
    ] {
        assert!(pcp.join(f).is_file(), "{f}");
    }
    let revoked: Value = serde_json::from_str(
        &std::fs::read_to_string(pcp.join("A1_29-palestra-montebello.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        revoked.pointer("/scheda/body/anacForm/aggiudicazioni/0/esitoProceduraAnnullata/codice"),
        Some(&json!("7")),
        "revoked after the start: {revoked}"
    );
    // the direct award: AD3 creates the appalto awarded and gets the CIG; the award sends nothing more;
    // the contract sends SC1 with AD3's participant
    let c = pcp_calls(out, "verde-borgofranco");
    let ops: Vec<(&str, &str, Option<u64>)> = c
        .iter()
        .map(|(o, s, l)| (o.as_str(), s.as_str(), *l))
        .collect();
    assert_eq!(
        ops,
        [
            ("crea_appalto", "AD3", None),
            ("conferma_appalto", "", None),
            ("scheda", "SC1", Some(1))
        ],
        "{c:?}"
    );
    let verde = fx["tenders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "verde-borgofranco")
        .unwrap();
    let affidatario = fx["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == verde["direct_award"]["operator"])
        .unwrap();
    let ad3: Value = serde_json::from_str(
        &std::fs::read_to_string(pcp.join("AD3-verde-borgofranco.json")).unwrap(),
    )
    .unwrap();
    let p = ad3
        .pointer("/scheda/body/anacForm/aggiudicazioni/0/partecipanti/0")
        .unwrap_or_else(|| panic!("{ad3}"));
    assert_eq!(p["codiceFiscale"], affidatario["codice_fiscale"], "{ad3}");
    assert_eq!(
        p["importo"].to_string(),
        s(&verde["direct_award"]["amount"]).trim_end_matches(".00"),
        "{ad3}"
    );
    let sc1: Value = serde_json::from_str(
        &std::fs::read_to_string(pcp.join("SC1-verde-borgofranco-lotto1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        sc1.pointer("/scheda/body/anacForm/datiContratto/idPartecipante"),
        p.get("idPartecipante"),
        "{sc1}"
    );
    // every body as ANAC's example (`{"scheda": {"codice", "versione", "body"}}`), valid against its
    // scheda's schema
    let mut n = 0;
    for e in std::fs::read_dir(&pcp).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name == "calls.json" {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let code = s(&v["scheda"]["codice"]["codice"]);
        assert!(name.starts_with(&format!("{code}-")), "{name}: {code}");
        assert_eq!(
            v["scheda"]["codice"]["idTipologica"], "codiceScheda",
            "{name}"
        );
        assert!(v["scheda"]["versione"].is_string(), "{name}");
        let schema = pcp::spec::scheda_body_schema(pcp::SchedaCode::parse(code).unwrap());
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&v["scheda"]["body"])
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        n += 1;
    }
    assert_eq!(n, 25, "every scheda sent");
}

/// `xmllint --noout --nonet --schema XSD FILE`: Ok, or its complaints.
#[allow(dead_code)]
fn xmllint(file: &Path, xsd: &str) -> Result<(), String> {
    let program = std::env::var("SUA_XMLLINT").unwrap_or_else(|_| "xmllint".into());
    let o = Command::new(&program)
        .args(["--noout", "--nonet", "--schema", xsd])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("SUA_XMLLINT={program} cannot run: {e}"));
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).to_string())
    }
}

#[test]
#[cfg_attr(
    not(sua_xmllint),
    ignore = "needs xmllint: SUA_XMLLINT=xmllint (Debian libxml2-utils)"
)]
fn demo_eforms_validate_against_the_eforms_xsd() {
    let (out, o) = demo();
    assert!(
        o.status.success(),
        "sua demo failed\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../pcp/spec/eforms/maindoc");
    let mut n = 0;
    for e in std::fs::read_dir(out.join("pcp/eforms")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let xsd = if name.starts_with("A1_29-") {
            format!("{spec}/UBL-ContractAwardNotice-2.3.xsd")
        } else {
            assert!(name.starts_with("P1_16-"), "{name}");
            format!("{spec}/UBL-ContractNotice-2.3.xsd")
        };
        if let Err(e) = xmllint(&p, &xsd) {
            panic!("{name}: {e}");
        }
        n += 1;
    }
    assert_eq!(
        n, 8,
        "three contract notices; five award notices: three lots awarded, the deserted and the revoked \
         tender (above the threshold, without a winner: clos-nw)"
    );
}
