//! Lifecycle enums as stored columns: [`Stored<T>`] keeps a typed state (`TenderState`, `LotState`, ...) in a
//! TEXT column holding the enum's stable snake_case name, the same text as before the columns were typed (no
//! data migration). `lifecycle` stays pure: the sea-orm glue lives here.
//!
//! `Stored<T>` dereferences to `T` (so `t.state.is_public()`), compares with `T` (`t.state == TenderState::Open`)
//! and serialises as `T` does (the snake_case name).

use lifecycle::{
    AwardCriterion, ProcedureType, UnknownName, lot::LotState, participation::ParticipationState,
    request::RequestState, tender::TenderState,
};
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, QueryResult, TryGetError, TryGetable, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A lifecycle enum with a stable stored name.
pub trait StoredName: Copy + Sized + 'static {
    /// What the enum is, for error messages.
    const TYPE: &'static str;
    fn name(self) -> &'static str;
    fn parse(s: &str) -> Result<Self, UnknownName>;
}

macro_rules! stored_name {
    ($($t:ty),+ $(,)?) => {$(
        impl StoredName for $t {
            const TYPE: &'static str = stringify!($t);
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn parse(s: &str) -> Result<Self, UnknownName> {
                s.parse()
            }
        }
    )+};
}

stored_name!(
    TenderState,
    LotState,
    ParticipationState,
    RequestState,
    ProcedureType,
    AwardCriterion,
);

/// A lifecycle enum in a TEXT column (see the module docs).
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

impl<T: StoredName> std::fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl<T: StoredName> std::str::FromStr for Stored<T> {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        T::parse(s).map(Stored)
    }
}

impl<T: StoredName> From<Stored<T>> for Value {
    fn from(v: Stored<T>) -> Self {
        Value::String(Some(v.0.name().to_owned()))
    }
}

impl<T: StoredName> TryGetable for Stored<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        let s = String::try_get_by(res, idx)?;
        T::parse(&s).map(Stored).map_err(|e| {
            TryGetError::DbErr(DbErr::TryIntoErr {
                from: "String",
                into: T::TYPE,
                source: Arc::new(e),
            })
        })
    }
}

impl<T: StoredName> ValueType for Stored<T> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        let s = <String as ValueType>::try_from(v)?;
        T::parse(&s).map(Stored).map_err(|_| ValueTypeErr)
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

impl<T: StoredName> Nullable for Stored<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: StoredName> sea_orm::IntoActiveValue<Stored<T>> for Stored<T> {
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
}
