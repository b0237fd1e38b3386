//! ANAC's Piattaforma Contratti Pubblici (PCP, the national procurement database BDNCP) as pure functions.
//!
//! Since 1 January 2024 a procedure lives on PCP (art. 23-26 D.Lgs. 36/2023; ANAC delib. 261-264/2023):
//! the platform creates the appalto with the publication scheda and gets the CIGs, then sends a *scheda* at
//! each later phase (participants, award, contract, ...). This crate builds those schede from our facts:
//!
//! - [`model`]: our facts as plain structs (typed ids from `domain::ids`, `Decimal` money, times passed in);
//! - [`schede`]: the builders, `{"scheda": {"codice", "versione", "body"}}` as ANAC's worked example;
//! - [`rules`]: ANAC's DMN validation rules that apply, each refusal naming its `REG` code;
//! - [`codes`]: ANAC's code lists (*tipologiche*) as enums, checked against the vendored JSON;
//! - [`spec`]: the vendored data model as self-contained JSON Schemas (with `allOf` inheritance flattened);
//! - [`eforms`]: the eForms XML (contract notice 16, contract award notice 29) sent to TED through PCP;
//! - [`modi`]: the PDND voucher request and the ModI `Agid-JWT-*` headers (claims and signing).
//!
//! No I/O, no clock, no randomness: `now`, ids and keys are parameters. See `docs/pcp.md`.

pub mod codes;
pub mod eforms;
pub mod error;
pub mod example;
pub mod model;
pub mod modi;
pub mod rules;
pub mod schede;
pub mod spec;

pub use codes::SchedaCode;
pub use error::PcpError;
pub use schede::Scheda;
