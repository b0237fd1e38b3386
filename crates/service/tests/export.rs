//! `sua export l190` and `sua export ocds` against a real (SQLite) database: rows written with the sea-orm
//! entities and the audit log, the binary run as a user would, every file validated (the L.190 XML against
//! ANAC's XSD with `anac::l190::validate_*`, the OCDS packages against the OCDS 1.1.5 schema with the
//! `jsonschema` crate, both compiled in and offline), contents read back and checked.

use std::path::Path;
use std::process::{Command, Output};

use anac::l190::{IdFiscale, LotCig, Offerente, Rules, read_dataset};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Database, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};
use service::db::entities::{bid, lot, municipality, operator, province, tender};
use uuid::Uuid;

#[path = "../../anac/tests/common/ocds_schema.rs"]
mod ocds_schema;

const SUA: &str = env!("CARGO_BIN_EXE_sua");

/// A valid 11-digit numeric codice fiscale / partita IVA from a 10-digit stem (check digit computed).
fn cf(stem: u64) -> String {
    let s = format!("{stem:010}");
    let sum: u32 = s
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap();
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    format!("{s}{}", (10 - sum % 10) % 10)
}

/// A valid first-version SIMOG CIG from a 7-digit progressive.
fn cig(p: u64) -> String {
    let c = format!("{p:07}{:03X}", p * 211 % 4091);
    domain::ids::Cig::parse(&c).expect("test CIG is valid");
    c
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

struct Env {
    dir: tempfile::TempDir,
    url: String,
    db: DatabaseConnection,
    t1: Uuid,
    lot1: Uuid,
    lot2: Uuid,
    t2: Uuid,
}

fn run_sua(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(SUA)
        .args(args)
        .current_dir(dir)
        .env("SUA_DATABASE__URL", url)
        .env("SUA_HTTP__PUBLIC_BASE_URL", "https://sua.provincia.mc.it")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run sua")
}

fn sua(env: &Env, args: &[&str]) -> Output {
    run_sua(env.dir.path(), &env.url, args)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn audit(db: &DatabaseConnection, when: DateTime<Utc>, action: &str, kind: &str, id: Uuid) {
    let after = if kind == "tender" {
        let state = match action {
            "tender.publish" => "open",
            "tender.close_submissions" => "closed",
            "tender.start_evaluation" => "in_evaluation",
            _ => "in_evaluation",
        };
        Some(serde_json::json!({"tender": {"state": state}}))
    } else {
        Some(serde_json::json!({}))
    };
    service::audit::append(
        db,
        when,
        service::audit::Entry {
            chain: service::db::Scope::of_object(db, kind, id)
                .await
                .expect("the audited object exists"),
            actor: "test",
            action,
            object_kind: kind,
            object_id: id.to_string(),
            before: None,
            after,
        },
    )
    .await
    .expect("audit");
}

#[allow(clippy::too_many_arguments)]
async fn add_tender(
    db: &DatabaseConnection,
    province: Uuid,
    municipality: Option<Uuid>,
    title: &str,
    state: &str,
    published: Option<DateTime<Utc>>,
) -> Uuid {
    let id = Uuid::now_v7();
    let t0 = at(2024, 1, 2);
    tender::ActiveModel {
        id: Set(id),
        province_id: Set(province),
        municipality_id: Set(municipality),
        request_id: Set(None),
        title: Set(title.into()),
        contract_type: Set("works".into()),
        procedure_type: Set("aperta".parse().unwrap()),
        criterion: Set("lowest_price".parse().unwrap()),
        state: Set(state.parse().unwrap()),
        deadline: Set(published.map(|p| p + chrono::Duration::days(30))),
        published_at: Set(published),
        invitees_json: Set("[]".into()),
        facts_json: Set("{}".into()),
        created_at: Set(t0),
        updated_at: Set(t0),
        service_nature: Set(None),
        decision_at: Set(None),
    }
    .insert(db)
    .await
    .expect("tender");
    id
}

async fn add_lot(
    db: &DatabaseConnection,
    tender: Uuid,
    number: i32,
    title: &str,
    cig: Option<String>,
    base_cents: i64,
    state: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    lot::ActiveModel {
        id: Set(id),
        tender_id: Set(tender),
        number: Set(number),
        title: Set(title.into()),
        cig: Set(cig.map(|c| c.parse().expect("test CIG is valid"))),
        base_amount_cents: Set(base_cents),
        state: Set(state.parse().unwrap()),
        evaluation_json: Set(None),
        awardee_bid_id: Set(None),
        standstill_end: Set(None),
        facts_json: Set("{}".into()),
        updated_at: Set(at(2025, 8, 1)),
        labour_costs_cents: Set(0),
        safety_costs_cents: Set(0),
        options_cents: Set(0),
        renewals_cents: Set(0),
        evaluation_rules_json: Set(None),
        pcp_json: Set("{}".into()),
    }
    .insert(db)
    .await
    .expect("lot");
    id
}

#[allow(clippy::too_many_arguments)]
async fn add_bid(
    db: &DatabaseConnection,
    tender: Uuid,
    lot: Uuid,
    op: Uuid,
    state: &str,
    discount: Option<&str>,
    price: Option<i64>,
    submitted: DateTime<Utc>,
) -> Uuid {
    let id = Uuid::now_v7();
    bid::ActiveModel {
        id: Set(id),
        tender_id: Set(tender),
        lot_id: Set(lot),
        operator_id: Set(op),
        state: Set(state.parse().unwrap()),
        declared_discount: Set(discount.map(str::to_owned)),
        declared_price_cents: Set(price),
        declared_labour_costs_cents: Set(None),
        technical_json: Set("{}".into()),
        tech_score: Set(None),
        soccorso_due: Set(None),
        exclusion_reason: Set(None),
        submitted_at: Set(submitted),
        updated_at: Set(submitted),
    }
    .insert(db)
    .await
    .expect("bid");
    id
}

async fn set_awardee(db: &DatabaseConnection, lot_id: Uuid, bid_id: Uuid) {
    let l = lot::Entity::find_by_id(lot_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut am = l.into_active_model();
    am.awardee_bid_id = Set(Some(bid_id));
    am.update(db).await.unwrap();
}

/// Province MC with a municipality; tender T1 (2 lots: one contracted in 2025, one without CIG and not
/// awarded), T2 published in 2024 and signed in 2025, T3 still open (sealed), T4 a draft, and T5 in
/// another Province (AN).
async fn setup() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display());
    setup_on(dir, url).await
}

async fn setup_on(dir: tempfile::TempDir, url: String) -> Env {
    let o = run_sua(dir.path(), &url, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let db = Database::connect(&url).await.expect("connect");
    let now = at(2024, 1, 1);

    let mc = Uuid::now_v7();
    province::ActiveModel {
        id: Set(mc),
        code: Set("MC".into()),
        name: Set("Provincia di Macerata".into()),
        created_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();
    let an = Uuid::now_v7();
    province::ActiveModel {
        id: Set(an),
        code: Set("AN".into()),
        name: Set("Provincia di Ancona".into()),
        created_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();
    let treia = Uuid::now_v7();
    municipality::ActiveModel {
        id: Set(treia),
        province_id: Set(mc),
        name: Set("Comune di Treia".into()),
        codice_fiscale: Set(cf(30_000_004)),
        created_at: Set(now),
        pec: Set(None),
    }
    .insert(&db)
    .await
    .unwrap();
    let osimo = Uuid::now_v7();
    municipality::ActiveModel {
        id: Set(osimo),
        province_id: Set(an),
        name: Set("Comune di Osimo".into()),
        codice_fiscale: Set(cf(40_000_005)),
        created_at: Set(now),
        pec: Set(None),
    }
    .insert(&db)
    .await
    .unwrap();
    let mut ops = Vec::new();
    for (i, name) in [
        "Alfa Costruzioni S.r.l.",
        "Beta Strade S.p.A.",
        "Gamma & Figli S.n.c.",
        "Delta Impianti S.r.l.",
    ]
    .into_iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        let code = cf(1_234_560 + i as u64);
        operator::ActiveModel {
            id: Set(id),
            codice_fiscale: Set(code.clone()),
            partita_iva: Set(Some(code)),
            name: Set(name.into()),
            pec: Set(format!("op{i}@pec.example.it")),
            created_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
        ops.push(id);
    }
    let (a, b, c, d) = (ops[0], ops[1], ops[2], ops[3]);

    // T1: published 2025-03-10, lot 1 contracted (signed 2025-07-15), lot 2 ranked, no CIG
    let t1 = add_tender(
        &db,
        mc,
        Some(treia),
        "Manutenzione strade comunali",
        "in_evaluation",
        Some(at(2025, 3, 10)),
    )
    .await;
    let lot1 = add_lot(
        &db,
        t1,
        1,
        "Zona nord",
        Some(cig(1_234_567)),
        10_000_000,
        "contracted",
    )
    .await;
    let lot2 = add_lot(&db, t1, 2, "Zona sud", None, 5_000_000, "ranked").await;
    let ba = add_bid(
        &db,
        t1,
        lot1,
        a,
        "contracted",
        Some("12.345"),
        None,
        at(2025, 4, 1),
    )
    .await;
    add_bid(
        &db,
        t1,
        lot1,
        b,
        "not_awarded",
        Some("10.000"),
        None,
        at(2025, 4, 2),
    )
    .await;
    add_bid(
        &db,
        t1,
        lot1,
        c,
        "withdrawn",
        Some("20.000"),
        None,
        at(2025, 4, 3),
    )
    .await;
    add_bid(
        &db,
        t1,
        lot2,
        b,
        "ranked",
        Some("5.000"),
        None,
        at(2025, 4, 2),
    )
    .await;
    add_bid(
        &db,
        t1,
        lot2,
        c,
        "ranked",
        Some("7.500"),
        None,
        at(2025, 4, 3),
    )
    .await;
    set_awardee(&db, lot1, ba).await;
    audit(&db, at(2025, 3, 10), "tender.publish", "tender", t1).await;
    audit(
        &db,
        at(2025, 4, 10),
        "tender.close_submissions",
        "tender",
        t1,
    )
    .await;
    audit(
        &db,
        at(2025, 4, 11),
        "tender.start_evaluation",
        "tender",
        t1,
    )
    .await;
    audit(&db, at(2025, 5, 20), "lot.propose_award", "lot", lot1).await;
    audit(&db, at(2025, 6, 1), "lot.award", "lot", lot1).await;
    audit(&db, at(2025, 7, 15), "lot.sign_contract", "lot", lot1).await;

    // T2: published 2024-11-05, awarded 2024-12-20 at a declared price, signed 2025-01-20
    let t2 = add_tender(
        &db,
        mc,
        Some(treia),
        "Fornitura arredi scolastici",
        "completed",
        Some(at(2024, 11, 5)),
    )
    .await;
    // T2 was also offered to Delta, which made no offer
    let mut am = tender::Entity::find_by_id(t2)
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    am.invitees_json = Set(serde_json::json!([b, d]).to_string());
    am.update(&db).await.unwrap();
    let l21 = add_lot(
        &db,
        t2,
        1,
        "Arredi",
        Some(cig(2_345_678)),
        4_000_000,
        "contracted",
    )
    .await;
    let bb = add_bid(
        &db,
        t2,
        l21,
        b,
        "contracted",
        None,
        Some(3_612_345),
        at(2024, 11, 20),
    )
    .await;
    set_awardee(&db, l21, bb).await;
    audit(&db, at(2024, 11, 5), "tender.publish", "tender", t2).await;
    audit(&db, at(2024, 12, 20), "lot.award", "lot", l21).await;
    audit(&db, at(2025, 1, 20), "lot.sign_contract", "lot", l21).await;

    // T3: still open (offers sealed); T4: a draft
    let t3 = add_tender(
        &db,
        mc,
        Some(treia),
        "Servizio mensa",
        "open",
        Some(at(2025, 9, 1)),
    )
    .await;
    add_lot(
        &db,
        t3,
        1,
        "Mensa",
        Some(cig(3_456_789)),
        1_000_000,
        "pending",
    )
    .await;
    add_bid(
        &db,
        t3,
        Uuid::nil(),
        a,
        "submitted",
        Some("1.000"),
        None,
        at(2025, 9, 2),
    )
    .await;
    let t4 = add_tender(&db, mc, Some(treia), "Bozza", "draft", None).await;
    add_lot(
        &db,
        t4,
        1,
        "Bozza",
        Some(cig(4_567_890)),
        1_000_000,
        "pending",
    )
    .await;

    // T5: Province AN, published 2025, not yet awarded
    let t5 = add_tender(
        &db,
        an,
        Some(osimo),
        "Illuminazione pubblica",
        "in_evaluation",
        Some(at(2025, 2, 1)),
    )
    .await;
    add_lot(
        &db,
        t5,
        1,
        "Illuminazione",
        Some(cig(5_678_901)),
        2_000_000,
        "admin_review",
    )
    .await;

    Env {
        dir,
        url,
        db,
        t1,
        lot1,
        lot2,
        t2,
    }
}

/// Validates an L.190 file against ANAC's XSD (`datasetAppaltiL190.xsd` or `datasetIndiceAppaltiL190.xsd`).
fn xsd_valid(file: &Path, xsd: &str) {
    let bytes = std::fs::read(file).unwrap();
    let valid = match xsd {
        "datasetAppaltiL190.xsd" => anac::l190::validate_dataset(&bytes),
        "datasetIndiceAppaltiL190.xsd" => anac::l190::validate_index(&bytes),
        other => panic!("no schema {other}"),
    };
    if let Err(e) = valid {
        panic!("{} {e}", file.display());
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn read_lots(dir: &Path, files: &[String], year: i32) -> Vec<anac::l190::Lotto> {
    let mut lots = Vec::new();
    for f in files.iter().filter(|f| f.starts_with("dataset_")) {
        let path = dir.join(f);
        xsd_valid(&path, "datasetAppaltiL190.xsd");
        let r = read_dataset(
            std::io::BufReader::new(std::fs::File::open(&path).unwrap()),
            &Rules::default(),
        )
        .unwrap();
        assert!(r.faults.is_empty(), "{:?}", r.faults);
        assert_eq!(r.meta.anno_riferimento, year);
        assert_eq!(
            r.url_file,
            format!("https://sua.provincia.mc.it/trasparenza/l190/{year}/{f}")
        );
        lots.extend(r.lots);
    }
    lots
}

fn name(o: &Offerente) -> &str {
    match o {
        Offerente::Singolo(s) => &s.ragione_sociale,
        Offerente::Raggruppamento(_) => panic!("no raggruppamenti here"),
    }
}

#[tokio::test]
async fn l190_export_of_one_year_validates_and_carries_the_lots() {
    let env = setup().await;
    let out = env.dir.path().join("out");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "mc",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("3 lots in 1 dataset file(s)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&env.lot2.to_string()),
        "placeholder lot reported: {stderr}"
    );
    assert!(stderr.contains("still sealed"), "{stderr}");

    // exactly the dataset and the index, no temporary directory left
    let files = entries(&out);
    assert_eq!(files, ["dataset_1.xml", "indice.xml"]);
    xsd_valid(&out.join("indice.xml"), "datasetIndiceAppaltiL190.xsd");
    let index = std::fs::read_to_string(out.join("indice.xml")).unwrap();
    assert!(index.contains("https://sua.provincia.mc.it/trasparenza/l190/2025/dataset_1.xml"));

    let lots = read_lots(&out, &files, 2025);
    let cigs: Vec<&str> = lots.iter().map(|l| l.cig.as_str()).collect();
    // T1's two lots (published 2025) and T2's lot (signed 2025); not the sealed T3, the draft T4, nor AN's T5
    assert_eq!(
        cigs,
        [
            cig(1_234_567).as_str(),
            "0000000000",
            cig(2_345_678).as_str()
        ]
    );
    assert_eq!(lots[1].cig, LotCig::Placeholder);

    let l1 = &lots[0];
    assert_eq!(
        l1.oggetto,
        "Manutenzione strade comunali - Lotto 1: Zona nord"
    );
    assert_eq!(l1.struttura_proponente.denominazione, "Comune di Treia");
    assert_eq!(
        l1.struttura_proponente.codice_fiscale.as_str(),
        cf(30_000_004)
    );
    assert_eq!(l1.scelta_contraente.code(), "01");
    // the withdrawn bid is not a participant
    let names: Vec<&str> = l1.partecipanti.iter().map(name).collect();
    assert_eq!(names, ["Alfa Costruzioni S.r.l.", "Beta Strade S.p.A."]);
    match &l1.partecipanti[0] {
        Offerente::Singolo(s) => assert_eq!(
            s.id,
            Some(IdFiscale::CodiceFiscale(cf(1_234_560).parse().unwrap()))
        ),
        Offerente::Raggruppamento(_) => unreachable!(),
    }
    let awardees: Vec<&str> = l1.aggiudicatari.iter().map(name).collect();
    assert_eq!(awardees, ["Alfa Costruzioni S.r.l."]);
    // 100 000.00 less 12.345 %
    assert_eq!(l1.importo_aggiudicazione, Decimal::new(8_765_500, 2));
    assert_eq!(l1.data_inizio, NaiveDate::from_ymd_opt(2025, 7, 15));
    assert_eq!(l1.importo_somme_liquidate, Decimal::ZERO);

    // lot 2: participants but no award yet
    assert_eq!(lots[1].partecipanti.len(), 2);
    assert!(lots[1].aggiudicatari.is_empty());
    assert_eq!(lots[1].importo_aggiudicazione, Decimal::ZERO);
    assert_eq!(lots[1].data_inizio, None);

    // T2: the declared price, signed in 2025
    assert_eq!(lots[2].importo_aggiudicazione, Decimal::new(3_612_345, 2));
    assert_eq!(lots[2].data_inizio, NaiveDate::from_ymd_opt(2025, 1, 20));

    // 2024: T2 (published then) only
    let out24 = env.dir.path().join("out24");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2024",
            "--province",
            "MC",
            "--out",
            out24.to_str().unwrap(),
            "--base-url",
            "https://example.org/l190/2024",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let ds = std::fs::read_to_string(out24.join("dataset_1.xml")).unwrap();
    assert!(
        ds.contains(&cig(2_345_678)) && !ds.contains(&cig(1_234_567)),
        "{ds}"
    );
    assert!(ds.contains("<annoRiferimento>2024</annoRiferimento>"));
    assert!(
        ds.contains("Beta Strade S.p.A.") && !ds.contains("Delta Impianti"),
        "{ds}"
    );
    // the law's reading: every operator invited to bid
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2024",
            "--province",
            "MC",
            "--out",
            out24.to_str().unwrap(),
            "--include-invited",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let lots = read_lots(&out24, &entries(&out24), 2024);
    let names: Vec<&str> = lots[0].partecipanti.iter().map(name).collect();
    assert_eq!(names, ["Beta Strade S.p.A.", "Delta Impianti S.r.l."]);
}

#[tokio::test]
async fn l190_splits_into_several_valid_files_listed_by_the_index() {
    let env = setup().await;
    let out = env.dir.path().join("split");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--out",
            out.to_str().unwrap(),
            "--ente",
            "SUA delle Marche",
            "--max-file-bytes",
            "4096",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let files = entries(&out);
    let datasets = files.iter().filter(|f| f.starts_with("dataset_")).count();
    assert!(datasets >= 2, "{files:?}");
    xsd_valid(&out.join("indice.xml"), "datasetIndiceAppaltiL190.xsd");
    let index = std::fs::read_to_string(out.join("indice.xml")).unwrap();
    for n in 1..=datasets {
        assert!(index.contains(&format!("id=\"ID_{n}\"")), "{index}");
        assert!(
            index.contains(&format!("/dataset_{n}.xml</linkDataset>")),
            "{index}"
        );
    }
    for f in files.iter().filter(|f| f.starts_with("dataset_")) {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() <= 4096);
    }
    // all provinces: AN's tender is in too
    let lots = read_lots(&out, &files, 2025);
    assert_eq!(lots.len(), 4);
    assert!(lots.iter().any(|l| l.cig.as_str() == cig(5_678_901)));
    assert!(
        lots.iter()
            .any(|l| l.struttura_proponente.denominazione == "Comune di Osimo")
    );
}

#[tokio::test]
async fn the_sua_as_proponent_needs_its_codice_fiscale() {
    let env = setup().await;
    let out = env.dir.path().join("sua");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "MC",
            "--out",
            out.to_str().unwrap(),
            "--proponente",
            "sua",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--sua-codice-fiscale"),
        "{}",
        text(&o)
    );
    assert!(entries(&out).is_empty());
    // an invalid one is refused naming the flag
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "MC",
            "--out",
            out.to_str().unwrap(),
            "--proponente",
            "sua",
            "--sua-codice-fiscale",
            "12345678901",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--sua-codice-fiscale"),
        "{}",
        text(&o)
    );
    let sua_cf = cf(80_000_009);
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "MC",
            "--out",
            out.to_str().unwrap(),
            "--proponente",
            "sua",
            "--sua-codice-fiscale",
            &sua_cf,
            "--sua-name",
            "SUA Provincia di Macerata",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let lots = read_lots(&out, &entries(&out), 2025);
    assert_eq!(lots.len(), 3);
    for l in &lots {
        assert_eq!(l.struttura_proponente.codice_fiscale.as_str(), sua_cf);
        assert_eq!(
            l.struttura_proponente.denominazione,
            "SUA Provincia di Macerata"
        );
    }
    // several provinces need --ente
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--ente"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn a_lot_the_anac_rules_refuse_stops_the_export_and_leaves_nothing() {
    let env = setup().await;
    let t = tender::Entity::find_by_id(env.t1)
        .one(&env.db)
        .await
        .unwrap()
        .unwrap();
    let mut am = t.into_active_model();
    am.title = Set("   ".into());
    am.update(&env.db).await.unwrap();
    let out = env.dir.path().join("refused");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "MC",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("oggetto: must not be empty"), "{err}");
    assert!(
        err.contains(&cig(1_234_567)) && err.contains(&env.lot1.to_string()),
        "{err}"
    );
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));

    // the placeholder can be refused too
    let out2 = env.dir.path().join("strict");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2024",
            "--province",
            "MC",
            "--out",
            out2.to_str().unwrap(),
            "--no-placeholder-cig",
        ],
    );
    assert!(
        o.status.success(),
        "2024 has no lot without CIG: {}",
        text(&o)
    );
    // the column is typed (a CIG is validated when written): write the bad text past it, as a row
    // stored before validation or edited by hand would be
    lot::Entity::update_many()
        .col_expr(lot::Column::Cig, Expr::value("1234567ABC"))
        .filter(lot::Column::Id.eq(env.lot2))
        .exec(&env.db)
        .await
        .unwrap();
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "MC",
            "--out",
            out2.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("lot {}: cig:", env.lot2)),
        "a stored bad CIG names the lot: {err}"
    );
    // the earlier 2024 export is untouched
    assert_eq!(entries(&out2), ["dataset_1.xml", "indice.xml"]);
}

fn validate_ocds(file: &Path) {
    ocds_schema::assert_valid_ocds_file(file);
}

#[tokio::test]
async fn ocds_export_validates_with_parties_awards_and_a_release_per_event() {
    let env = setup().await;
    let file = env.dir.path().join("ocds/all.json");
    let o = sua(
        &env,
        &[
            "export",
            "ocds",
            "--out",
            file.to_str().unwrap(),
            "--province",
            "MC",
            "--ocid-prefix",
            "ocds-test01",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    validate_ocds(&file);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        doc["uri"],
        "https://sua.provincia.mc.it/opendata/ocds/all.json"
    );
    assert_eq!(doc["publisher"]["name"], "Provincia di Macerata");
    let releases = doc["releases"].as_array().unwrap();
    let ocid1 = format!("ocds-test01-{}", env.t1);
    let r1: Vec<&serde_json::Value> = releases
        .iter()
        .filter(|r| r["ocid"] == ocid1.as_str())
        .collect();
    // publish, close_submissions, start_evaluation, propose_award, award, sign_contract
    let tags: Vec<&str> = r1.iter().map(|r| r["tag"][0].as_str().unwrap()).collect();
    assert_eq!(
        tags,
        [
            "tender",
            "tenderUpdate",
            "tenderUpdate",
            "award",
            "award",
            "contract"
        ]
    );
    // T3 is public (open) with sealed offers, T2 is there, the draft T4 and AN's T5 are not
    let ocids: std::collections::BTreeSet<&str> = releases
        .iter()
        .map(|r| r["ocid"].as_str().unwrap())
        .collect();
    assert_eq!(ocids.len(), 3, "{ocids:?}");
    assert!(ocids.contains(format!("ocds-test01-{}", env.t2).as_str()));

    let last = r1.last().unwrap();
    let roles = |name: &str| -> Vec<String> {
        last["parties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| {
                p["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(roles("Comune di Treia"), ["buyer"]);
    assert_eq!(roles("Provincia di Macerata"), ["procuringEntity"]);
    assert_eq!(roles("Alfa Costruzioni S.r.l."), ["tenderer", "supplier"]);
    assert_eq!(last["buyer"]["id"], format!("IT-CF-{}", cf(30_000_004)));
    assert_eq!(last["tender"]["status"], "active");
    assert_eq!(last["tender"]["lots"].as_array().unwrap().len(), 2);
    assert_eq!(last["tender"]["value"]["amount"].to_string(), "150000");
    assert_eq!(last["awards"][0]["value"]["amount"].to_string(), "87655");
    assert_eq!(last["awards"][0]["status"], "active");
    assert_eq!(last["contracts"][0]["dateSigned"], "2025-07-15T10:00:00Z");
    // the withdrawn bid is listed as withdrawn and does not count among tenderers
    let bids = last["bids"]["details"].as_array().unwrap();
    assert_eq!(bids.len(), 5);
    assert!(bids.iter().any(|b| b["status"] == "withdrawn"));
    assert_eq!(last["tender"]["numberOfTenderers"], 3);
    // the release at publication shows no bids yet, and no award
    assert!(r1[0].get("bids").is_none() && r1[0].get("awards").is_none());
    // the award (now active) is dated from the lot.award event, so it first appears in that release
    assert!(r1[3].get("awards").is_none());
    assert_eq!(r1[4]["awards"][0]["date"], "2025-06-01T10:00:00Z");

    // one tender: its own package
    let one = env.dir.path().join("t1.json");
    let o = sua(
        &env,
        &[
            "export",
            "ocds",
            "--out",
            one.to_str().unwrap(),
            "--tender",
            &env.t1.to_string(),
            "--ocid-prefix",
            "ocds-test01",
            "--sua-codice-fiscale",
            &cf(80_000_009),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    validate_ocds(&one);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&one).unwrap()).unwrap();
    assert_eq!(
        doc["uri"],
        format!("https://sua.provincia.mc.it/opendata/ocds/{}.json", env.t1)
    );
    assert_eq!(doc["releases"].as_array().unwrap().len(), 6);
    assert_eq!(doc["publisher"]["uid"], cf(80_000_009));
    assert_eq!(
        doc["releases"][0]["tender"]["procuringEntity"]["id"],
        format!("IT-CF-{}", cf(80_000_009))
    );
}

#[tokio::test]
async fn ocds_refusals_name_the_option() {
    let env = setup().await;
    let file = env.dir.path().join("bad.json");
    let o = sua(
        &env,
        &[
            "export",
            "ocds",
            "--out",
            file.to_str().unwrap(),
            "--province",
            "MC",
            "--ocid-prefix",
            "OCDS-XYZ",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ocid_prefix"),
        "{}",
        text(&o)
    );
    assert!(!file.exists());
    let o = sua(
        &env,
        &[
            "export",
            "ocds",
            "--out",
            file.to_str().unwrap(),
            "--ocid-prefix",
            "ocds-test01",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--publisher"),
        "{}",
        text(&o)
    );
    let o = sua(
        &env,
        &[
            "export",
            "ocds",
            "--out",
            file.to_str().unwrap(),
            "--ocid-prefix",
            "ocds-test01",
            "--tender",
            &Uuid::now_v7().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--tender"),
        "{}",
        text(&o)
    );
    assert!(!file.exists());
    assert_eq!(
        entries(env.dir.path())
            .iter()
            .filter(|f| f.starts_with('.'))
            .count(),
        0
    );
}

/// The same exports from PostgreSQL (ignored without `SUA_TEST_DATABASE_URL`): one code path for both.
#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn exports_from_postgresql() {
    let pg = testkit::pg::ScratchPg::create("sua_export").await;
    let env = setup_on(tempfile::tempdir().unwrap(), pg.url.clone()).await;
    let out = env.dir.path().join("out");
    let o = sua(
        &env,
        &[
            "export",
            "l190",
            "--year",
            "2025",
            "--province",
            "MC",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let files = entries(&out);
    xsd_valid(&out.join("indice.xml"), "datasetIndiceAppaltiL190.xsd");
    let lots = read_lots(&out, &files, 2025);
    let cigs: Vec<&str> = lots.iter().map(|l| l.cig.as_str()).collect();
    assert_eq!(
        cigs,
        [
            cig(1_234_567).as_str(),
            "0000000000",
            cig(2_345_678).as_str()
        ]
    );
    assert_eq!(lots[0].importo_aggiudicazione, Decimal::new(8_765_500, 2));
    assert_eq!(lots[2].data_inizio, NaiveDate::from_ymd_opt(2025, 1, 20));
    let file = env.dir.path().join("ocds.json");
    let o = sua(
        &env,
        &[
            "export",
            "ocds",
            "--out",
            file.to_str().unwrap(),
            "--province",
            "MC",
            "--ocid-prefix",
            "ocds-test01",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    validate_ocds(&file);
    env.db.close().await.ok();
    pg.drop_db().await;
}
