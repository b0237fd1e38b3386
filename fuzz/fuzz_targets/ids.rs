//! Identifiers (CIG, CUP, codice fiscale, partita IVA, CPV, NUTS): never a panic, and a value that parses
//! prints as text that parses again to the same value.
#![no_main]

use domain::ids::{Cig, CodiceFiscale, Cpv, Cup, NutsCode, PartitaIva};
use libfuzzer_sys::fuzz_target;

fn round_trip<T, E>(s: &str, parse: impl Fn(&str) -> Result<T, E>)
where
    T: PartialEq + std::fmt::Debug + std::fmt::Display,
{
    if let Ok(v) = parse(s) {
        let again = parse(&v.to_string());
        assert!(again.as_ref().is_ok_and(|a| *a == v), "{s:?} → {v} does not parse back");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    round_trip(s, Cig::parse);
    round_trip(s, Cup::parse);
    round_trip(s, CodiceFiscale::parse);
    round_trip(s, PartitaIva::parse);
    round_trip(s, Cpv::parse);
    round_trip(s, NutsCode::parse);
    // the FromStr the HTTP edge uses (`service::input::id`)
    let _ = s.parse::<Cig>();
    let _ = s.parse::<CodiceFiscale>();
});
