use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use domain::calendar::{CalendarError, LegalCalendar};
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
}

#[test]
fn easter_monday_is_computed_for_known_years() {
    let cal = LegalCalendar::italy();
    for (y, m, day) in [(2024, 4, 1), (2025, 4, 21), (2026, 4, 6), (2027, 3, 29)] {
        assert_eq!(
            cal.holiday_name(d(y, m, day)),
            Some("Lunedì dell'Angelo"),
            "{y}"
        );
        // Easter Sunday itself is a Sunday, not a listed holiday.
        assert!(!cal.is_holiday(d(y, m, day).pred_opt().unwrap()), "{y}");
    }
    // In 2038 Easter falls on 25 April: the Sunday is Liberation Day, the Monday Easter Monday.
    assert_eq!(
        cal.holiday_name(d(2038, 4, 25)),
        Some("Festa della Liberazione")
    );
    assert_eq!(cal.holiday_name(d(2038, 4, 26)), Some("Lunedì dell'Angelo"));
}

#[test]
fn the_national_holidays_of_2026_are_exactly_the_twelve_of_the_law() {
    let cal = LegalCalendar::italy();
    let got: Vec<NaiveDate> = cal.holidays_in(2026).into_iter().map(|(d, _)| d).collect();
    let want = vec![
        d(2026, 1, 1),
        d(2026, 1, 6),
        d(2026, 4, 6),
        d(2026, 4, 25),
        d(2026, 5, 1),
        d(2026, 6, 2),
        d(2026, 8, 15),
        d(2026, 10, 4),
        d(2026, 11, 1),
        d(2026, 12, 8),
        d(2026, 12, 25),
        d(2026, 12, 26),
    ];
    assert_eq!(got, want);
}

#[test]
fn san_francesco_is_a_holiday_from_2026_only() {
    let cal = LegalCalendar::italy();
    assert!(!cal.is_holiday(d(2025, 10, 4)));
    assert_eq!(
        cal.holiday_name(d(2026, 10, 4)),
        Some("San Francesco d'Assisi")
    );
    // 4 Oct 2027 is a Monday: a working day lost.
    assert_eq!(d(2027, 10, 4).weekday(), Weekday::Mon);
    assert!(!cal.is_working_day(d(2027, 10, 4)));
}

#[test]
fn festa_della_repubblica_counts_from_2001() {
    let cal = LegalCalendar::italy();
    assert!(!cal.is_holiday(d(2000, 6, 2)));
    assert!(cal.is_holiday(d(2001, 6, 2)));
}

#[test]
fn weekends_are_not_working_days_but_are_not_holidays() {
    let cal = LegalCalendar::italy();
    let saturday = d(2026, 11, 28);
    assert_eq!(saturday.weekday(), Weekday::Sat);
    assert!(!cal.is_holiday(saturday));
    assert!(!cal.is_working_day(saturday));
    assert!(cal.is_working_day(d(2026, 11, 30)));
}

#[test]
fn a_local_patron_saint_is_a_holiday_only_in_the_calendar_that_has_it() {
    let national = LegalCalendar::italy();
    // San Giovanni Battista, patron of several cities (e.g. Torino, Firenze, Genova): 24 June.
    let local = LegalCalendar::italy()
        .with_local_holiday("San Giovanni Battista", 6, 24)
        .unwrap();
    let day = d(2026, 6, 24); // a Wednesday
    assert!(national.is_working_day(day));
    assert!(!local.is_working_day(day));
    assert_eq!(local.holiday_name(day), Some("San Giovanni Battista"));
    assert!(local.holidays().iter().any(|h| h.local));
}

#[test]
fn an_invalid_local_holiday_names_the_field() {
    for (m, day) in [(2, 30), (13, 1), (0, 5), (4, 31)] {
        let err = LegalCalendar::italy()
            .with_local_holiday("x", m, day)
            .unwrap_err();
        assert_eq!(
            err,
            CalendarError::InvalidMonthDay {
                field: "local_holiday",
                month: m,
                day
            }
        );
        assert!(err.to_string().starts_with("local_holiday:"));
    }
    // 29 February is a valid month/day (it only occurs in leap years).
    assert!(
        LegalCalendar::italy()
            .with_local_holiday("x", 2, 29)
            .is_ok()
    );
}

#[test]
fn the_first_day_is_not_counted_and_a_working_last_day_stays() {
    let cal = LegalCalendar::italy();
    // Mon 2 Nov 2026 + 30 days = Wed 2 Dec 2026.
    assert_eq!(cal.term_end(d(2026, 11, 2), 30).unwrap(), d(2026, 12, 2));
    assert_eq!(cal.term_end(d(2026, 11, 2), 1).unwrap(), d(2026, 11, 3));
    assert_eq!(cal.term_end(d(2026, 11, 2), 0).unwrap(), d(2026, 11, 2));
}

#[test]
fn a_term_ending_on_a_weekend_rolls_to_monday() {
    let cal = LegalCalendar::italy();
    // Thu 29 Oct 2026 + 30 = Sat 28 Nov 2026 -> Mon 30 Nov.
    assert_eq!(cal.term_end(d(2026, 10, 29), 30).unwrap(), d(2026, 11, 30));
    // Fri 30 Oct + 30 = Sun 29 Nov -> Mon 30 Nov.
    assert_eq!(cal.term_end(d(2026, 10, 30), 30).unwrap(), d(2026, 11, 30));
}

#[test]
fn a_term_ending_on_holidays_rolls_past_all_of_them() {
    let cal = LegalCalendar::italy();
    // 25 Nov 2026 + 30 = Fri 25 Dec (Natale) -> Sat 26 (Santo Stefano) -> Sun 27 -> Mon 28 Dec.
    assert_eq!(cal.term_end(d(2026, 11, 25), 30).unwrap(), d(2026, 12, 28));
    // 7 Mar 2026 + 30 = Mon 6 Apr 2026 (Easter Monday) -> Tue 7 Apr.
    assert_eq!(cal.term_end(d(2026, 3, 7), 30).unwrap(), d(2026, 4, 7));
}

#[test]
fn a_local_holiday_also_rolls_a_term() {
    let cal = LegalCalendar::italy()
        .with_local_holiday("San Giovanni Battista", 6, 24)
        .unwrap();
    // 25 May 2026 + 30 = Wed 24 Jun -> Thu 25 Jun.
    assert_eq!(cal.term_end(d(2026, 5, 25), 30).unwrap(), d(2026, 6, 25));
    assert_eq!(
        LegalCalendar::italy().term_end(d(2026, 5, 25), 30).unwrap(),
        d(2026, 6, 24)
    );
}

#[test]
fn a_short_term_contains_two_working_days_under_reg_1182_71_art_3_5() {
    // Thu 24 Dec 2026 + 2 days = Sat 26 -> Mon 28 Dec: only one working day (28) in the period.
    let on = LegalCalendar::italy();
    let off = LegalCalendar::italy().with_two_working_days_rule(false);
    assert_eq!(off.term_end(d(2026, 12, 24), 2).unwrap(), d(2026, 12, 28));
    assert_eq!(on.term_end(d(2026, 12, 24), 2).unwrap(), d(2026, 12, 29));
    assert!(on.two_working_days_rule());
    assert!(!off.two_working_days_rule());
}

#[test]
fn backward_terms_move_to_the_previous_working_day() {
    let cal = LegalCalendar::italy();
    // Six days before Fri 11 Dec 2026 is Sat 5 Dec -> Fri 4 Dec.
    assert_eq!(cal.days_before(d(2026, 12, 11), 6).unwrap(), d(2026, 12, 4));
    // Six days before Mon 14 Dec is Tue 8 Dec (Immacolata) -> Mon 7 Dec.
    assert_eq!(cal.days_before(d(2026, 12, 14), 6).unwrap(), d(2026, 12, 7));
    assert_eq!(
        cal.days_before(d(2026, 12, 16), 6).unwrap(),
        d(2026, 12, 10)
    );
}

#[test]
fn local_wall_clock_deadlines_follow_daylight_saving_time() {
    let cal = LegalCalendar::italy();
    // Winter (CET, UTC+1) and summer (CEST, UTC+2).
    assert_eq!(
        cal.at_local("offer_deadline", d(2026, 1, 15), t(12, 0))
            .unwrap(),
        utc(2026, 1, 15, 11, 0)
    );
    assert_eq!(
        cal.at_local("offer_deadline", d(2026, 7, 15), t(12, 0))
            .unwrap(),
        utc(2026, 7, 15, 10, 0)
    );
}

#[test]
fn a_time_in_the_spring_gap_is_refused_and_an_autumn_overlap_takes_the_earlier_instant() {
    let cal = LegalCalendar::italy();
    // 29 Mar 2026: clocks jump from 02:00 to 03:00.
    let err = cal
        .at_local("offer_deadline", d(2026, 3, 29), t(2, 30))
        .unwrap_err();
    assert!(matches!(
        err,
        CalendarError::NonexistentLocalTime {
            field: "offer_deadline",
            ..
        }
    ));
    assert!(err.to_string().starts_with("offer_deadline:"));
    // 25 Oct 2026: 02:30 happens twice; the earlier (CEST) is 00:30 UTC.
    assert_eq!(
        cal.at_local("offer_deadline", d(2026, 10, 25), t(2, 30))
            .unwrap(),
        utc(2026, 10, 25, 0, 30)
    );
}

#[test]
fn days_around_dst_changes_have_23_and_25_hours() {
    let cal = LegalCalendar::italy();
    let spring = cal.end_of_day(d(2026, 3, 29)) - cal.start_of_day(d(2026, 3, 29));
    let autumn = cal.end_of_day(d(2026, 10, 25)) - cal.start_of_day(d(2026, 10, 25));
    assert_eq!(spring.num_hours(), 23);
    assert_eq!(autumn.num_hours(), 25);
}

#[test]
fn a_term_from_an_instant_uses_the_local_date_of_the_trigger() {
    let cal = LegalCalendar::italy();
    // 23:30 UTC on 1 Nov is already 2 Nov in Rome (00:30 CET).
    let start = utc(2026, 11, 1, 23, 30);
    assert_eq!(cal.local_date(start), d(2026, 11, 2));
    let end = cal.term_end_instant(start, 30).unwrap();
    // Ends at the end of Wed 2 Dec local = 23:00 UTC on 2 Dec.
    assert_eq!(end, utc(2026, 12, 2, 23, 0));
}

#[test]
fn years_outside_the_supported_range_are_refused_naming_the_field() {
    let cal = LegalCalendar::italy();
    let err = cal.term_end(d(1500, 1, 1), 5).unwrap_err();
    assert_eq!(
        err,
        CalendarError::YearOutOfRange {
            field: "start",
            year: 1500
        }
    );
    assert!(cal.term_end(d(9999, 12, 20), 30).is_err());
}

#[test]
fn the_calendar_round_trips_through_serde() {
    let cal = LegalCalendar::italy()
        .with_local_holiday("Sant'Ambrogio", 12, 7)
        .unwrap();
    let json = serde_json::to_string(&cal).unwrap();
    let back: LegalCalendar = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cal);
    assert!(back.is_holiday(d(2026, 12, 7)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_term_ends_on_a_working_day_no_earlier_than_the_raw_date(
        offset in 0u32..(365 * 30), days in 1u32..120, rule in any::<bool>()
    ) {
        let cal = LegalCalendar::italy().with_two_working_days_rule(rule);
        let start = d(2000, 1, 1) + chrono::Days::new(u64::from(offset));
        let raw = start + chrono::Days::new(u64::from(days));
        let end = cal.term_end(start, days).unwrap();
        prop_assert!(end >= raw);
        prop_assert!(cal.is_working_day(end));
        // Every day skipped is not a working day, unless the two-working-days rule moved it.
        if !rule {
            let mut day = raw;
            while day < end {
                prop_assert!(!cal.is_working_day(day));
                day = day.succ_opt().unwrap();
            }
        }
        // Italian holidays never make more than a few consecutive non-working days.
        prop_assert!((end - raw).num_days() <= 6);
    }

    #[test]
    fn every_day_starts_and_ends_on_itself(offset in 0u32..(365 * 200)) {
        let cal = LegalCalendar::italy();
        let day = d(1900, 1, 1) + chrono::Days::new(u64::from(offset));
        let start = cal.start_of_day(day);
        prop_assert_eq!(cal.local_date(start), day);
        prop_assert!(cal.end_of_day(day) > start);
        prop_assert_eq!(cal.local_date(cal.end_of_day(day)), day.succ_opt().unwrap());
    }

    #[test]
    fn longer_terms_never_end_earlier(offset in 0u32..(365 * 30), days in 0u32..90) {
        let cal = LegalCalendar::italy();
        let start = d(2000, 1, 1) + chrono::Days::new(u64::from(offset));
        prop_assert!(cal.term_end(start, days + 1).unwrap() >= cal.term_end(start, days).unwrap());
    }
}

#[test]
fn a_deserialised_calendar_with_an_impossible_holiday_is_refused() {
    let mut json: serde_json::Value = serde_json::to_value(LegalCalendar::italy()).unwrap();
    json["holidays"][0]["date"]["day"] = serde_json::json!(32);
    let err = serde_json::from_value::<LegalCalendar>(json).unwrap_err();
    assert!(err.to_string().contains("holidays: 01-32"), "{err}");
}

#[test]
fn a_day_whose_midnight_did_not_exist_starts_at_the_first_valid_instant() {
    let cal = LegalCalendar::italy();
    // Italy moved clocks from 00:00 to 01:00 on 31 May 1970.
    let start = cal.start_of_day(d(1970, 5, 31));
    assert_eq!(start, utc(1970, 5, 30, 23, 0));
    assert_eq!(cal.local_date(start), d(1970, 5, 31));
    assert_eq!(cal.end_of_day(d(1970, 5, 30)), start);
}
