//! Typed values as stored columns: [`Stored<T>`] keeps a typed state (`TenderState`, `LotState`, ...) in a
//! TEXT column holding the enum's stable snake_case name, or a validated identifier (a lot's [`Cig`], a
//! request's [`Cup`]) in a
//! TEXT column holding its canonical text; the same text as before the columns were typed (no data
//! migration). `lifecycle` and `domain` stay pure: the sea-orm glue lives here.
//!
//! `Stored<T>` dereferences to `T` (so `t.state.is_public()`), compares with `T` (`t.state == TenderState::Open`)
//! and serialises as `T` does (the snake_case name, the identifier's text).

use domain::ids::{Cig, Cup, IdError};
use lifecycle::{
    AwardCriterion, ProcedureType, UnknownName, lot::LotState, participation::ParticipationState,
    procedure::ServiceNature, request::RequestState, tender::TenderState,
};
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, QueryResult, TryGetError, TryGetable, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A value kept in a TEXT column as its canonical text, read back by parsing (which validates it).
pub trait StoredText: Sized + 'static {
    /// What the value is, for error messages.
    const TYPE: &'static str;
    /// Why a stored text does not parse.
    type Err: std::error::Error + Send + Sync + 'static;
    fn text(&self) -> &str;
    fn parse_text(s: &str) -> Result<Self, Self::Err>;
}

/// A lifecycle enum with a stable stored name.
pub trait StoredName: StoredText + Copy {
    fn name(self) -> &'static str;
}

macro_rules! stored_name {
    ($($t:ty),+ $(,)?) => {$(
        impl StoredText for $t {
            const TYPE: &'static str = stringify!($t);
            type Err = UnknownName;
            fn text(&self) -> &str {
                self.as_str()
            }
            fn parse_text(s: &str) -> Result<Self, UnknownName> {
                s.parse()
            }
        }
        impl StoredName for $t {
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    )+};
}

macro_rules! stored_id {
    ($($t:ident),+ $(,)?) => {$(
        impl StoredText for $t {
            const TYPE: &'static str = stringify!($t);
            type Err = IdError;
            fn text(&self) -> &str {
                self.as_str()
            }
            fn parse_text(s: &str) -> Result<Self, IdError> {
                $t::parse(s)
            }
        }
    )+};
}

// A lot's CIG and a request's CUP: the column holds the identifier's text; a row that does not parse is a
// read error.
stored_id!(Cig, Cup);

stored_name!(
    TenderState,
    LotState,
    ParticipationState,
    RequestState,
    ProcedureType,
    AwardCriterion,
    ServiceNature,
);

/// A lifecycle enum or an identifier in a TEXT column (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stored<T>(pub T);

impl<T> std::ops::Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Stored<T> {
    fn from(v: T) -> Self {
        Stored(v)
    }
}

impl<T: PartialEq> PartialEq<T> for Stored<T> {
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

impl<T: StoredText> std::fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.text())
    }
}

impl<T: StoredText> std::str::FromStr for Stored<T> {
    type Err = T::Err;
    fn from_str(s: &str) -> Result<Self, T::Err> {
        T::parse_text(s).map(Stored)
    }
}

impl<T: StoredText> From<Stored<T>> for Value {
    fn from(v: Stored<T>) -> Self {
        Value::String(Some(v.0.text().to_owned()))
    }
}

impl<T: StoredText> TryGetable for Stored<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        let s = String::try_get_by(res, idx)?;
        T::parse_text(&s).map(Stored).map_err(|e| {
            TryGetError::DbErr(DbErr::TryIntoErr {
                from: "String",
                into: T::TYPE,
                source: Arc::new(e),
            })
        })
    }
}

impl<T: StoredText> ValueType for Stored<T> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        let s = <String as ValueType>::try_from(v)?;
        T::parse_text(&s).map(Stored).map_err(|_| ValueTypeErr)
    }
    fn type_name() -> String {
        format!("Stored<{}>", T::TYPE)
    }
    fn array_type() -> ArrayType {
        ArrayType::String
    }
    fn column_type() -> ColumnType {
        ColumnType::String(StringLen::None)
    }
}

impl<T: StoredText> Nullable for Stored<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: StoredText> sea_orm::IntoActiveValue<Stored<T>> for Stored<T> {
    fn into_active_value(self) -> sea_orm::ActiveValue<Stored<T>> {
        sea_orm::ActiveValue::Set(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_is_the_lifecycle_name() {
        let v: Value = Stored(TenderState::InEvaluation).into();
        assert_eq!(v, Value::String(Some("in_evaluation".to_owned())));
        let back: Stored<TenderState> = ValueType::try_from(v).unwrap();
        assert_eq!(back, TenderState::InEvaluation);
        assert!(
            <Stored<LotState> as ValueType>::try_from(Value::String(Some("x".into()))).is_err()
        );
        assert_eq!(
            serde_json::to_string(&Stored(ParticipationState::NoOffer)).unwrap(),
            "\"no_offer\""
        );
    }

    #[test]
    fn stored_cig_is_its_text_and_a_bad_text_does_not_read() {
        // SmartCIG 0000001: check 1 × 211 mod 251 = 211 = D3.
        let cig = Cig::parse("ZD30000001").unwrap();
        let text = cig.as_str().to_owned();
        let v: Value = Stored(cig.clone()).into();
        assert_eq!(v, Value::String(Some(text.clone())));
        let back: Stored<Cig> = ValueType::try_from(v).unwrap();
        assert_eq!(back, cig);
        assert_eq!(
            serde_json::to_string(&Stored(cig)).unwrap(),
            format!("\"{text}\"")
        );
        assert!(
            <Stored<Cig> as ValueType>::try_from(Value::String(Some("0000000000".into()))).is_err()
        );
    }
}
