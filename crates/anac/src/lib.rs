//! ANAC transparency exports for the SUA engine (pure: no I/O, no clock; writers take any `std::io::Write`).
//!
//! - [`l190`]: the art. 1 c. 32 L. 190/2012 XML dataset and its index (streaming writer, reader, business rules).
//! - [`ocds`]: Open Contracting Data Standard 1.1 release packages, one per tender.

pub mod l190;
pub mod ocds;
