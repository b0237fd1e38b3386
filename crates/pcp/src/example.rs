//! A sample above-threshold open tender run by the Province for a Comune, its bids, award and contract:
//! the facts of ANAC's worked example (`appalto_ordinario_sopra_soglia`) in our model. Used by the tests,
//! the mock PCP's tests and the demo; every value is valid, so a test changes one field to break one rule.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::award::AwardCriterion;
use domain::ids::{Cig, CodiceFiscale, Cpv, NutsCode};
use domain::thresholds::ContractObject;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::codes::{
    CategoriaMerceologica, ContrattiDisposizioniParticolari, FunzioniSvolte, GiustificazioneEsito,
    MotivoCollegamento, MotivoUrgenza, PrestazioniComprese, RuoloOE, TipoFinanziamento, TipoOE,
};
use crate::model::*;

fn cf(s: &str) -> CodiceFiscale {
    CodiceFiscale::parse(s).expect("sample codice fiscale is valid")
}

/// The Province acting as CUC (sender) and the Comune (titolare).
pub fn committente() -> Committente {
    Committente::PerConto {
        cuc: StazioneAppaltante {
            codice_fiscale: cf("80001234568"),
            codice_ausa: "0000123456".into(),
            codice_centro_costo: "CDC-SUA-01".into(),
            denominazione: "Provincia di Esempio - Stazione Unica Appaltante".into(),
        },
        titolare: StazioneAppaltante {
            codice_fiscale: cf("00345678908"),
            codice_ausa: "0000654321".into(),
            codice_centro_costo: "CDC-LLPP".into(),
            denominazione: "Comune di Esempio".into(),
        },
        funzioni: vec![FunzioniSvolte::SoloAggiudicazione],
    }
}

fn lotto(n: u32, servizi: i64, deadline: DateTime<Utc>) -> Lotto {
    let servizi = Decimal::from(servizi);
    Lotto {
        lot_identifier: format!("LOT-{n:04}"),
        titolo: format!("Servizio di manutenzione del verde, lotto {n}"),
        descrizione: "Manutenzione ordinaria del verde pubblico comunale".into(),
        oggetto: ContractObject::Services,
        cpv: Cpv::parse("77310000-6").expect("valid CPV"),
        nuts: NutsCode::parse("ITC11").expect("valid NUTS"),
        cod_istat: "001272001".into(),
        quadro: QuadroEconomico {
            servizi,
            sicurezza: Decimal::from(5_000),
            somme_a_disposizione: servizi * Decimal::new(22, 2),
            ..QuadroEconomico::default()
        },
        cup: vec![],
        acquisizione_cup: false,
        pnrr: false,
        finanziamenti: vec![Finanziamento {
            tipo: TipoFinanziamento::BilancioStazioneAppaltante,
            importo: servizi + Decimal::from(5_000),
        }],
        ccnl: "H08".into(),
        categoria: "FS".into(),
        categorie_scorporabili: vec![],
        prestazioni: PrestazioniComprese::SolaEsecuzione,
        servizio_pubblico_locale: false,
        in_programmazione: false,
        cui: None,
        opzioni_rinnovi: false,
        ripetizioni: false,
        collegamento: MotivoCollegamento::Nessuno,
        cig_collegati: vec![],
        disposizioni_particolari: ContrattiDisposizioniParticolari::NonApplicabile,
        strumenti_elettronici: None,
        doc_fap: None,
        parita: None,
        scadenza_offerte: deadline,
        validita_offerta_giorni: 180,
        durata_mesi: 24,
    }
}

/// The tender, published at `now` with offers due 35 days later (art. 71 c.2).
pub fn appalto(now: DateTime<Utc>) -> Appalto {
    let deadline = now + Duration::days(35);
    Appalto {
        codice_appalto: "SUA-2026-0001".into(),
        titolo: "Manutenzione del verde pubblico".into(),
        descrizione:
            "Servizi di manutenzione del verde pubblico del Comune di Esempio, in due lotti".into(),
        committente: committente(),
        procedura: Procedura::Aperta,
        sopra_soglia: true,
        criterio: AwardCriterion::LowestPrice,
        motivo_urgenza: MotivoUrgenza::NonApplicabile,
        link_documenti: None,
        url_documenti: "https://sua.provincia.example.it/public/tenders/SUA-2026-0001".into(),
        url_offerte: "https://sua.provincia.example.it/bids".into(),
        categorie_merceologiche: vec![CategoriaMerceologica::NonElencata],
        lotti: vec![lotto(1, 250_000, deadline), lotto(2, 180_000, deadline)],
    }
}

/// The CIGs PCP assigned to the two lots (ANAC's worked example's).
pub fn cigs() -> [Cig; 2] {
    [
        Cig::parse("K00003EC3A").expect("valid CIG"),
        Cig::parse("B001234732").expect("valid CIG"),
    ]
}

/// Three bidders: two single firms and an RTI.
pub fn partecipanti() -> Vec<Partecipante> {
    let single = |n: u128, cfs: &str, name: &str| Partecipante {
        id: Uuid::from_u128(n),
        membri: vec![Membro {
            id: OperatoreId::Italiano(cf(cfs)),
            denominazione: name.into(),
            tipo: TipoOE::ImpresaSingola,
            ruolo: RuoloOE::OperatoreEconomico,
        }],
        avvalimento: None,
    };
    vec![
        single(1, "01234567897", "Verde Srl"),
        single(2, "09876543217", "Giardini Spa"),
        Partecipante {
            id: Uuid::from_u128(3),
            membri: vec![
                Membro {
                    id: OperatoreId::Italiano(cf("80012345676")),
                    denominazione: "Cooperativa Parchi".into(),
                    tipo: TipoOE::Raggruppamento,
                    ruolo: RuoloOE::Mandatario,
                },
                Membro {
                    id: OperatoreId::Estero {
                        paese: "FRA".into(),
                        identificativo: "FR12345678901".into(),
                    },
                    denominazione: "Jardins SARL".into(),
                    tipo: TipoOE::Raggruppamento,
                    ruolo: RuoloOE::Mandante,
                },
            ],
            avvalimento: None,
        },
    ]
}

/// S2's facts: every bidder bid for both lots.
pub fn elenco() -> Vec<ElencoLotto> {
    cigs()
        .into_iter()
        .map(|cig| ElencoLotto {
            cig,
            partecipanti: partecipanti(),
        })
        .collect()
}

fn offerta(id: u128, importo: i64, ribasso: Decimal, pos: u32) -> Offerta {
    Offerta {
        id_partecipante: Uuid::from_u128(id),
        importo: Decimal::from(importo),
        ribasso: Some(ribasso),
        punteggio_qualita: None,
        aggiudicatario: pos == 1,
        posizione: Some(pos),
        anomala: false,
        esclusa_automaticamente: false,
        sopra_soglia_anomalia: Some(false),
        ccnl: "H08".into(),
    }
}

/// The award of both lots (lowest price).
pub fn esito() -> EsitoAggiudicazione {
    let [c1, c2] = cigs();
    EsitoAggiudicazione {
        procedura: Procedura::Aperta,
        data_aggiudicazione: Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .single()
            .expect("valid time"),
        subappalto: Some(false),
        motivo_urgenza: MotivoUrgenza::NonApplicabile,
        link_documenti: None,
        relazione_unica: true,
        opere_urbanizzazione_scomputo: false,
        aggiudicazioni: vec![
            Aggiudicazione {
                cig: c1,
                offerte: vec![
                    offerta(1, 215_000, Decimal::new(14, 0), 1),
                    offerta(2, 225_000, Decimal::new(10, 0), 2),
                    offerta(3, 230_000, Decimal::new(8, 0), 3),
                ],
                offerte_ammesse: 3,
                soglia_anomalia: None,
                quadro: None,
                annullata: None,
                senza_vincitore: None,
            },
            Aggiudicazione {
                cig: c2,
                offerte: vec![
                    offerta(2, 158_400, Decimal::new(12, 0), 1),
                    offerta(1, 162_000, Decimal::new(1000, 2), 2),
                ],
                offerte_ammesse: 2,
                soglia_anomalia: None,
                quadro: None,
                annullata: None,
                senza_vincitore: None,
            },
        ],
    }
}

/// The contract with the winner of lot 1.
pub fn contratto() -> Contratto {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("valid date");
    Contratto {
        id_partecipante: Uuid::from_u128(1),
        cig: vec![cigs()[0].clone()],
        codici_ausa: vec!["0000654321".into()],
        data_stipula: d(2026, 12, 1),
        data_esecutivita: None,
        data_decorrenza: d(2027, 1, 1),
        data_scadenza: d(2028, 12, 31),
        importo_cauzione: Decimal::new(2_150_000, 2),
    }
}

/// A deserted lot.
pub fn deserta() -> MancataAggiudicazione {
    MancataAggiudicazione {
        cig: cigs()[1].clone(),
        giustificazione: GiustificazioneEsito::NessunaOfferta,
        annullata: None,
    }
}

/// A direct award of one lot (services, 38,000 euro) to a single firm.
pub fn affidamento(now: DateTime<Utc>) -> AffidamentoDiretto {
    let mut a = appalto(now);
    a.codice_appalto = "SUA-2026-0002".into();
    a.procedura = Procedura::AffidamentoDiretto;
    a.sopra_soglia = false;
    a.lotti.truncate(1);
    a.lotti[0].quadro = QuadroEconomico {
        servizi: Decimal::from(38_000),
        somme_a_disposizione: Decimal::from(8_360),
        ..QuadroEconomico::default()
    };
    AffidamentoDiretto {
        appalto: a,
        affidatario: partecipanti().remove(0),
        importo: Decimal::from(38_000),
        data_aggiudicazione: now,
        relazione_unica: true,
    }
}

/// A negotiated procedure without a bando below the threshold (art. 50 c.1 c-e), one lot.
pub fn negoziata(now: DateTime<Utc>) -> Appalto {
    let mut a = appalto(now);
    a.codice_appalto = "SUA-2026-0003".into();
    a.procedura = Procedura::NegoziataSenzaBando;
    a.sopra_soglia = false;
    a.lotti.truncate(1);
    a
}
