//! Value types of Italian public procurement (D.Lgs. 36/2023) that can only hold valid values.
//!
//! This crate is pure: no I/O, no clock, no randomness. Every type parses from text with an error that
//! names the rule it broke, and serialises back to the same text.

pub mod award;
pub mod calendar;
pub mod costs;
pub mod ids;
pub mod money;
pub mod text;
pub mod thresholds;
