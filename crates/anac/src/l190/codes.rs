//! The closed lists of the L.190 schema (`TypesL190.xsd` v1.3): `sceltaContraente` and `ruolo`.
//!
//! The labels are the exact strings of the schema enumerations; matching is exact (case, spaces and the
//! apostrophe type matter), so a label is never rebuilt from parts.

use std::fmt;

macro_rules! closed_list {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = ($code:literal, $label:literal),)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* #[doc = $label] $var,)+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$var,)+];

            /// The two-digit code (e.g. `"01"`).
            pub const fn code(self) -> &'static str {
                match self { $($name::$var => $code,)+ }
            }

            /// The exact string the schema expects, code included (e.g. `"01-PROCEDURA APERTA"`).
            pub const fn label(self) -> &'static str {
                match self { $($name::$var => $label,)+ }
            }

            /// Parses the exact schema string (no trimming, no case folding).
            pub fn from_label(s: &str) -> Option<Self> {
                match s { $($label => Some($name::$var),)+ _ => None }
            }

            /// Looks a value up by its two-digit code (`"01"`) or its number (`"1"`).
            pub fn from_code(s: &str) -> Option<Self> {
                let n: u8 = s.parse().ok()?;
                Self::ALL.iter().copied().find(|v| v.code().parse::<u8>().ok() == Some(n))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

closed_list! {
    /// How the contractor was chosen (`sceltaContraente`), the 29 codes of `TypesL190.xsd` v1.3.
    ///
    /// Codes 09–13, 15–16 and 18–20 do not exist. Code 35 keeps the schema's own spelling
    /// ("PARTERNARIATO", with a U+2019 apostrophe).
    SceltaContraente {
        ProceduraAperta = ("01", "01-PROCEDURA APERTA"),
        ProceduraRistretta = ("02", "02-PROCEDURA RISTRETTA"),
        NegoziataPreviaPubblicazione = ("03", "03-PROCEDURA NEGOZIATA PREVIA PUBBLICAZIONE"),
        NegoziataSenzaPreviaPubblicazione = ("04", "04-PROCEDURA NEGOZIATA SENZA PREVIA PUBBLICAZIONE"),
        DialogoCompetitivo = ("05", "05-DIALOGO COMPETITIVO"),
        NegoziataSenzaIndizioneSettoriSpeciali = ("06", "06-PROCEDURA NEGOZIATA SENZA PREVIA INDIZIONE DI GARA (SETTORI SPECIALI)"),
        SistemaDinamicoAcquisizione = ("07", "07-SISTEMA DINAMICO DI ACQUISIZIONE"),
        CottimoFiduciario = ("08", "08-AFFIDAMENTO IN ECONOMIA - COTTIMO FIDUCIARIO"),
        SelettivaArt238 = ("14", "14-PROCEDURA SELETTIVA EX ART 238 C.7, D.LGS. 163/2006"),
        AffidamentoDirettoL381 = ("17", "17-AFFIDAMENTO DIRETTO EX ART. 5 DELLA LEGGE 381/91"),
        RistrettaDaAvvisi = ("21", "21-PROCEDURA RISTRETTA DERIVANTE DA AVVISI CON CUI SI INDICE LA GARA"),
        NegoziataConIndizioneSettoriSpeciali = ("22", "22-PROCEDURA NEGOZIATA CON PREVIA INDIZIONE DI GARA (SETTORI SPECIALI)"),
        AffidamentoDiretto = ("23", "23-AFFIDAMENTO DIRETTO"),
        AffidamentoInHouse = ("24", "24-AFFIDAMENTO DIRETTO A SOCIETA' IN HOUSE"),
        AffidamentoSocietaRaggruppate = ("25", "25-AFFIDAMENTO DIRETTO A SOCIETA' RAGGRUPPATE/CONSORZIATE O CONTROLLATE NELLE CONCESSIONI E NEI PARTENARIATI"),
        AffidamentoDirettoAccordoQuadro = ("26", "26-AFFIDAMENTO DIRETTO IN ADESIONE AD ACCORDO QUADRO/CONVENZIONE"),
        ConfrontoCompetitivoAccordoQuadro = ("27", "27-CONFRONTO COMPETITIVO IN ADESIONE AD ACCORDO QUADRO/CONVENZIONE"),
        RegolamentiOrganiCostituzionali = ("28", "28-PROCEDURA AI SENSI DEI REGOLAMENTI DEGLI ORGANI COSTITUZIONALI"),
        RistrettaSemplificata = ("29", "29-PROCEDURA RISTRETTA SEMPLIFICATA"),
        LeggeRegionale = ("30", "30-PROCEDURA DERIVANTE DA LEGGE REGIONALE"),
        AffidamentoDirettoVariante = ("31", "31-AFFIDAMENTO DIRETTO PER VARIANTE SUPERIORE AL 20% DELL'IMPORTO CONTRATTUALE"),
        AffidamentoRiservato = ("32", "32-AFFIDAMENTO RISERVATO"),
        NegoziataSottoSoglia = ("33", "33-PROCEDURA NEGOZIATA PER AFFIDAMENTI SOTTO SOGLIA"),
        OpereUrbanizzazioneScomputo = ("34", "34-PROCEDURA ART.16 COMMA 2-BIS DPR 380/2001 PER OPERE URBANIZZAZIONE A SCOMPUTO PRIMARIE SOTTO SOGLIA COMUNITARIA"),
        PartenariatoInnovazione = ("35", "35-PARTERNARIATO PER L\u{2019}INNOVAZIONE"),
        AffidamentoDirettoSupplementari = ("36", "36-AFFIDAMENTO DIRETTO PER LAVORI, SERVIZI O FORNITURE SUPPLEMENTARI"),
        CompetitivaConNegoziazione = ("37", "37-PROCEDURA COMPETITIVA CON NEGOZIAZIONE"),
        RegolamentoInternoSettoriSpeciali = ("38", "38-PROCEDURA DISCIPLINATA DA REGOLAMENTO INTERNO PER SETTORI SPECIALI"),
        AffidamentoDirettoModifiche = ("39", "39-AFFIDAMENTO DIRETTO PER MODIFICHE CONTRATTUALI O VARIANTI PER LE QUALI \u{c8} NECESSARIA UNA NUOVA PROCEDURA DI AFFIDAMENTO"),
    }
}

closed_list! {
    /// Role of a member of a raggruppamento (RTI, consorzio) (`ruolo`).
    Ruolo {
        Mandante = ("01", "01-MANDANTE"),
        Mandataria = ("02", "02-MANDATARIA"),
        Associata = ("03", "03-ASSOCIATA"),
        Capogruppo = ("04", "04-CAPOGRUPPO"),
        Consorziata = ("05", "05-CONSORZIATA"),
    }
}

/// The procedures of D.Lgs. 36/2023 as the engine names them, for mapping onto [`SceltaContraente`].
///
/// The mapping is the usual reading of the codes for post-2023 procedures, but ANAC never published a
/// table from the new code's procedures to the L.190 codes (the L.190 format stopped being required on
/// 1 January 2024 before one was needed). Where a mapping is debatable the caller may pick another
/// code: [`SceltaContraente`] is always accepted directly by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Procedura {
    /// Procedura aperta (art. 71).
    Aperta,
    /// Procedura ristretta (art. 72).
    Ristretta,
    /// Procedura competitiva con negoziazione (art. 73).
    CompetitivaConNegoziazione,
    /// Dialogo competitivo (art. 74).
    DialogoCompetitivo,
    /// Partenariato per l'innovazione (art. 75).
    PartenariatoInnovazione,
    /// Procedura negoziata senza pubblicazione di un bando (art. 76).
    NegoziataSenzaBando,
    /// Procedura negoziata sotto soglia (art. 50 c. 1 lett. c, d, e).
    NegoziataSottoSoglia,
    /// Affidamento diretto (art. 50 c. 1 lett. a, b).
    AffidamentoDiretto,
    /// Affidamento in house (art. 7).
    InHouse,
    /// Affidamento diretto in adesione ad accordo quadro o convenzione.
    AdesioneAccordoQuadro,
    /// Confronto competitivo (rilancio) in adesione ad accordo quadro.
    ConfrontoCompetitivoAccordoQuadro,
    /// Sistema dinamico di acquisizione (art. 32).
    SistemaDinamico,
    /// Appalto riservato (art. 61).
    Riservato,
}

impl From<Procedura> for SceltaContraente {
    fn from(p: Procedura) -> Self {
        use SceltaContraente as S;
        match p {
            Procedura::Aperta => S::ProceduraAperta,
            Procedura::Ristretta => S::ProceduraRistretta,
            Procedura::CompetitivaConNegoziazione => S::CompetitivaConNegoziazione,
            Procedura::DialogoCompetitivo => S::DialogoCompetitivo,
            Procedura::PartenariatoInnovazione => S::PartenariatoInnovazione,
            Procedura::NegoziataSenzaBando => S::NegoziataSenzaPreviaPubblicazione,
            Procedura::NegoziataSottoSoglia => S::NegoziataSottoSoglia,
            Procedura::AffidamentoDiretto => S::AffidamentoDiretto,
            Procedura::InHouse => S::AffidamentoInHouse,
            Procedura::AdesioneAccordoQuadro => S::AffidamentoDirettoAccordoQuadro,
            Procedura::ConfrontoCompetitivoAccordoQuadro => S::ConfrontoCompetitivoAccordoQuadro,
            Procedura::SistemaDinamico => S::SistemaDinamicoAcquisizione,
            Procedura::Riservato => S::AffidamentoRiservato,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_nine_codes_with_unique_labels() {
        assert_eq!(SceltaContraente::ALL.len(), 29);
        let mut labels: Vec<_> = SceltaContraente::ALL.iter().map(|s| s.label()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), 29);
        for s in SceltaContraente::ALL {
            assert!(s.label().starts_with(&format!("{}-", s.code())));
            assert_eq!(SceltaContraente::from_label(s.label()), Some(*s));
            assert_eq!(SceltaContraente::from_code(s.code()), Some(*s));
        }
    }

    #[test]
    fn code_35_keeps_the_schema_spelling() {
        let l = SceltaContraente::PartenariatoInnovazione.label();
        assert_eq!(l, "35-PARTERNARIATO PER L’INNOVAZIONE");
        assert!(l.contains('\u{2019}'));
        assert_eq!(
            SceltaContraente::from_label("35-PARTERNARIATO PER L'INNOVAZIONE"),
            None
        );
        assert_eq!(
            SceltaContraente::from_label("35-PARTENARIATO PER L’INNOVAZIONE"),
            None
        );
    }

    #[test]
    fn inexact_labels_and_missing_codes_are_refused() {
        assert_eq!(SceltaContraente::from_label("01-Procedura aperta"), None);
        assert_eq!(SceltaContraente::from_label(" 01-PROCEDURA APERTA"), None);
        assert_eq!(
            SceltaContraente::from_label("23-AFFIDAMENTO IN ECONOMIA - AFFIDAMENTO DIRETTO"),
            None
        );
        for missing in ["09", "10", "13", "15", "16", "18", "20", "40", "00"] {
            assert_eq!(SceltaContraente::from_code(missing), None, "{missing}");
        }
        assert_eq!(
            SceltaContraente::from_code("1"),
            Some(SceltaContraente::ProceduraAperta)
        );
        assert_eq!(Ruolo::from_label("02-MANDATARIA"), Some(Ruolo::Mandataria));
        assert_eq!(Ruolo::from_label("02-mandataria"), None);
    }

    /// Every label appears verbatim as an enumeration value of the official schema.
    #[test]
    fn labels_match_the_official_schema() {
        let xsd = super::super::TYPES_XSD;
        let enums: Vec<&str> = xsd
            .split("<xsd:enumeration value=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        let ours: Vec<&str> = SceltaContraente::ALL
            .iter()
            .map(|s| s.label())
            .chain(Ruolo::ALL.iter().map(|r| r.label()))
            .collect();
        assert_eq!(enums, ours);
    }
}
