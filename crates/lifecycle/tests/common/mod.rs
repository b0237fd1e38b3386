#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use lifecycle::procedure::ContractContext;
use lifecycle::{ContractObject, Effect, Refusal, Transition};
use rust_decimal::Decimal;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A local (Europe/Rome) wall-clock time as an instant.
pub fn rome(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Rome
        .from_local_datetime(&date(y, m, d).and_time(NaiveTime::from_hms_opt(h, min, 0).unwrap()))
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

pub fn contract(object: ContractObject, value: i64, on: NaiveDate) -> ContractContext {
    ContractContext::new(object, Decimal::from(value), on)
}

/// Asserts a refusal names `rule` (exactly) and returns it.
#[track_caller]
pub fn refused<S: std::fmt::Debug>(r: Result<Transition<S>, Refusal>, rule: &str) -> Refusal {
    match r {
        Ok(t) => panic!("expected a refusal under {rule}, got {t:?}"),
        Err(e) => {
            assert_eq!(e.rule, rule, "unexpected rule; message: {}", e.message);
            assert!(!e.message.is_empty());
            e
        }
    }
}

#[track_caller]
pub fn accepted<S: std::fmt::Debug>(r: Result<Transition<S>, Refusal>) -> Transition<S> {
    match r {
        Ok(t) => {
            assert!(
                matches!(t.effects.last(), Some(Effect::Audit { .. })),
                "the audit entry is the last effect"
            );
            t
        }
        Err(e) => panic!("expected acceptance, refused: {e}"),
    }
}
