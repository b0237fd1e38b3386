//! The Italian legal calendar: national holidays, local holidays, term computation and deadlines as instants.
//!
//! Rules encoded (see `docs/lifecycle.md` for sources and the uncertain points):
//! - National holidays: L. 260/1949 art. 2 as amended (L. 54/1977, D.P.R. 792/1985, L. 336/2000, L. 151/2025).
//!   They are data with an optional first and last year, not constants: 2 June is a holiday from 2001
//!   (L. 336/2000), 4 October (San Francesco d'Assisi) from 2026 (L. 151/2025, in force 1 Jan 2026).
//! - Terms in days are calendar days; the day of the triggering event is not counted (*dies a quo non
//!   computatur*, art. 2963 c.c., Reg. (EEC, Euratom) 1182/71 art. 3(1)); if the last day is a Saturday, a Sunday
//!   or a holiday the term ends at the end of the next working day (Reg. 1182/71 art. 3(4)).
//! - Optionally (on by default) Reg. 1182/71 art. 3(5): a term of two days or more includes at least two working
//!   days.
//! - Local wall-clock times are in Europe/Rome; deadlines are instants (`DateTime<Utc>`).
//!
//! Pure: no clock. The caller supplies every date.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The time zone of every legal deadline.
pub const LEGAL_TIME_ZONE: Tz = chrono_tz::Europe::Rome;

/// Years for which Easter (hence Easter Monday) can be computed.
pub const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1583..=9999;

/// Why a calendar operation was refused. Every variant names the input field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "{field}: {month:02}-{day:02} is not a day of the year (month 1-12, day valid for the month)"
    )]
    InvalidMonthDay {
        field: &'static str,
        month: u32,
        day: u32,
    },
    #[error("{field}: year {year} is outside the supported range 1583-9999")]
    YearOutOfRange { field: &'static str, year: i32 },
    #[error("{field}: {date} {time} does not exist in Europe/Rome (daylight-saving gap)")]
    NonexistentLocalTime {
        field: &'static str,
        date: NaiveDate,
        time: NaiveTime,
    },
    #[error("{field}: a term of {days} days from {start} overflows the calendar")]
    Overflow {
        field: &'static str,
        start: NaiveDate,
        days: u32,
    },
}

/// When a holiday falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum HolidayDate {
    /// The same day every year.
    Fixed { month: u32, day: u32 },
    /// The Monday after Gregorian Easter (Lunedì dell'Angelo).
    EasterMonday,
}

/// A holiday rule, valid from `from_year` to `until_year` (both inclusive, open when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub name: String,
    pub date: HolidayDate,
    pub from_year: Option<i32>,
    pub until_year: Option<i32>,
    /// Legal source, or "local" for the SA's own holidays (patron saints).
    pub source: String,
    /// `true` for a holiday of the SA's seat only (e.g. the patron saint), `false` for national ones.
    pub local: bool,
}

impl Holiday {
    fn applies_in(&self, year: i32) -> bool {
        self.from_year.is_none_or(|y| year >= y) && self.until_year.is_none_or(|y| year <= y)
    }

    fn date_in(&self, year: i32) -> Option<NaiveDate> {
        if !self.applies_in(year) {
            return None;
        }
        match self.date {
            HolidayDate::Fixed { month, day } => NaiveDate::from_ymd_opt(year, month, day),
            HolidayDate::EasterMonday => {
                let e = computus::gregorian(year).ok()?;
                NaiveDate::from_ymd_opt(e.year, e.month, e.day)?.checked_add_days(Days::new(1))
            }
        }
    }
}

/// The Italian legal calendar, with the national holidays and any local ones configured.
///
/// Deserialising validates every fixed month/day (an invalid one is an error naming `holidays`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCalendar")]
pub struct LegalCalendar {
    holidays: Vec<Holiday>,
    /// Reg. 1182/71 art. 3(5): a term of two or more days includes at least two working days.
    at_least_two_working_days: bool,
}

#[derive(Deserialize)]
struct RawCalendar {
    holidays: Vec<Holiday>,
    at_least_two_working_days: bool,
}

impl TryFrom<RawCalendar> for LegalCalendar {
    type Error = CalendarError;
    fn try_from(raw: RawCalendar) -> Result<Self, Self::Error> {
        for h in &raw.holidays {
            if let HolidayDate::Fixed { month, day } = h.date
                && NaiveDate::from_ymd_opt(2000, month, day).is_none()
            {
                return Err(CalendarError::InvalidMonthDay {
                    field: "holidays",
                    month,
                    day,
                });
            }
        }
        Ok(LegalCalendar {
            holidays: raw.holidays,
            at_least_two_working_days: raw.at_least_two_working_days,
        })
    }
}

impl Default for LegalCalendar {
    fn default() -> Self {
        Self::italy()
    }
}

fn national(name: &str, date: HolidayDate, from_year: Option<i32>, source: &str) -> Holiday {
    Holiday {
        name: name.to_owned(),
        date,
        from_year,
        until_year: None,
        source: source.to_owned(),
        local: false,
    }
}

fn fixed(month: u32, day: u32) -> HolidayDate {
    HolidayDate::Fixed { month, day }
}

impl LegalCalendar {
    /// The national Italian holidays (L. 260/1949 art. 2 as amended), without local holidays.
    pub fn italy() -> Self {
        const L260: &str = "L. 260/1949 art. 2";
        let holidays = vec![
            national("Capodanno", fixed(1, 1), None, L260),
            national("Epifania", fixed(1, 6), Some(1986), "D.P.R. 792/1985"),
            national("Lunedì dell'Angelo", HolidayDate::EasterMonday, None, L260),
            national(
                "Festa della Liberazione",
                fixed(4, 25),
                None,
                "L. 260/1949 art. 2",
            ),
            national("Festa del Lavoro", fixed(5, 1), None, L260),
            national(
                "Festa della Repubblica",
                fixed(6, 2),
                Some(2001),
                "L. 336/2000",
            ),
            national("Assunzione", fixed(8, 15), None, L260),
            national(
                "San Francesco d'Assisi",
                fixed(10, 4),
                Some(2026),
                "L. 151/2025",
            ),
            national("Ognissanti", fixed(11, 1), None, L260),
            national("Immacolata Concezione", fixed(12, 8), None, L260),
            national("Natale", fixed(12, 25), None, L260),
            national("Santo Stefano", fixed(12, 26), None, L260),
        ];
        LegalCalendar {
            holidays,
            at_least_two_working_days: true,
        }
    }

    /// Adds a local holiday (e.g. the patron saint of the SA's seat) on a fixed month/day, every year.
    pub fn with_local_holiday(
        mut self,
        name: impl Into<String>,
        month: u32,
        day: u32,
    ) -> Result<Self, CalendarError> {
        // 2000 is a leap year, so 29 February is accepted as a month/day.
        if NaiveDate::from_ymd_opt(2000, month, day).is_none() {
            return Err(CalendarError::InvalidMonthDay {
                field: "local_holiday",
                month,
                day,
            });
        }
        self.holidays.push(Holiday {
            name: name.into(),
            date: fixed(month, day),
            from_year: None,
            until_year: None,
            source: "local".to_owned(),
            local: true,
        });
        Ok(self)
    }

    /// Turns the Reg. 1182/71 art. 3(5) rule (at least two working days in a term of two or more days) on or off.
    pub fn with_two_working_days_rule(mut self, on: bool) -> Self {
        self.at_least_two_working_days = on;
        self
    }

    /// Whether the Reg. 1182/71 art. 3(5) rule is applied.
    pub fn two_working_days_rule(&self) -> bool {
        self.at_least_two_working_days
    }

    /// Every holiday rule, national first, then local.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// The holidays that fall in `year`, sorted by date.
    pub fn holidays_in(&self, year: i32) -> Vec<(NaiveDate, &str)> {
        let mut v: Vec<(NaiveDate, &str)> = self
            .holidays
            .iter()
            .filter_map(|h| h.date_in(year).map(|d| (d, h.name.as_str())))
            .collect();
        v.sort();
        v
    }

    /// The name of the holiday on `date`, if any (national first).
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.holidays
            .iter()
            .find(|h| h.date_in(date.year()) == Some(date))
            .map(|h| h.name.as_str())
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holiday_name(date).is_some()
    }

    /// A working day is Monday to Friday and not a holiday (Reg. 1182/71 art. 2(2)).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.is_holiday(date)
    }

    /// `date` itself if it is a working day, else the next working day.
    pub fn next_working_day_from(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        while !self.is_working_day(d) {
            d = d
                .succ_opt()
                .expect("a working day exists before the end of chrono's range");
        }
        d
    }

    /// `date` itself if it is a working day, else the previous working day.
    pub fn previous_working_day_from(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        while !self.is_working_day(d) {
            d = d
                .pred_opt()
                .expect("a working day exists after the start of chrono's range");
        }
        d
    }

    fn check_year(field: &'static str, date: NaiveDate) -> Result<(), CalendarError> {
        if SUPPORTED_YEARS.contains(&date.year()) {
            Ok(())
        } else {
            Err(CalendarError::YearOutOfRange {
                field,
                year: date.year(),
            })
        }
    }

    /// The last day of a term of `days` calendar days triggered on `start`: the start day is not counted, and a
    /// last day on a Saturday, Sunday or holiday moves to the next working day. With the art. 3(5) rule on, a
    /// term of two days or more is extended until it contains two working days.
    pub fn term_end(&self, start: NaiveDate, days: u32) -> Result<NaiveDate, CalendarError> {
        Self::check_year("start", start)?;
        let overflow = CalendarError::Overflow {
            field: "days",
            start,
            days,
        };
        let raw = start
            .checked_add_days(Days::new(u64::from(days)))
            .ok_or(overflow.clone())?;
        if !SUPPORTED_YEARS.contains(&raw.year()) {
            return Err(overflow);
        }
        if days == 0 {
            return Ok(raw);
        }
        let mut end = self.next_working_day_from(raw);
        if self.at_least_two_working_days && days >= 2 {
            // Count working days in (start, end].
            let mut working = start
                .iter_days()
                .skip(1)
                .take_while(|d| *d <= end)
                .filter(|d| self.is_working_day(*d))
                .count();
            while working < 2 {
                end = self.next_working_day_from(end.succ_opt().ok_or(overflow.clone())?);
                working += 1;
            }
        }
        Ok(end)
    }

    /// The latest day on which something due "at least `days` days before `date`" may happen. Backward terms are
    /// not rolled forward; when the computed day is not a working day this returns the previous working day (the
    /// safe side; uncertain in law, see docs/lifecycle.md).
    pub fn days_before(&self, date: NaiveDate, days: u32) -> Result<NaiveDate, CalendarError> {
        Self::check_year("date", date)?;
        let d =
            date.checked_sub_days(Days::new(u64::from(days)))
                .ok_or(CalendarError::Overflow {
                    field: "days",
                    start: date,
                    days,
                })?;
        Self::check_year("date", d)?;
        Ok(self.previous_working_day_from(d))
    }

    /// The local (Europe/Rome) calendar date of an instant.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&LEGAL_TIME_ZONE).date_naive()
    }

    /// The instant of a local wall-clock time in Europe/Rome. In the autumn overlap the earlier instant is taken
    /// (the safe side for a deadline); a time in the spring gap is refused, naming `field`.
    pub fn at_local(
        &self,
        field: &'static str,
        date: NaiveDate,
        time: NaiveTime,
    ) -> Result<DateTime<Utc>, CalendarError> {
        match LEGAL_TIME_ZONE.from_local_datetime(&date.and_time(time)) {
            LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(early, _) => Ok(early.with_timezone(&Utc)),
            LocalResult::None => Err(CalendarError::NonexistentLocalTime { field, date, time }),
        }
    }

    /// The instant `date` begins in Europe/Rome: local midnight, or the first local time that exists when a
    /// historical DST change skipped midnight (Italy changed clocks at 00:00 in some years of the 1960s-70s).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        (0..=4 * 24)
            .filter_map(|quarter| {
                let time = NaiveTime::MIN + chrono::Duration::minutes(15 * quarter);
                LEGAL_TIME_ZONE
                    .from_local_datetime(&date.and_time(time))
                    .earliest()
            })
            .next()
            .map_or_else(
                || date.and_time(NaiveTime::MIN).and_utc(),
                |t| t.with_timezone(&Utc),
            )
    }

    /// The instant `date` ends in Europe/Rome (= the next local midnight, exclusive).
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        match date.succ_opt() {
            Some(next) => self.start_of_day(next),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// End (exclusive instant) of a term of `days` days triggered at the instant `start`: the local date of
    /// `start` is the day not counted; the term ends at the end of its last (rolled-forward) day.
    pub fn term_end_instant(
        &self,
        start: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        Ok(self.end_of_day(self.term_end(self.local_date(start), days)?))
    }

    /// Whole calendar days between the local dates of two instants (`to` - `from`).
    pub fn days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        (self.local_date(to) - self.local_date(from)).num_days()
    }
}
