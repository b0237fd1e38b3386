//! The register's vocabulary, listing status changes, eligibility, reminders and counters.

use chrono::NaiveDate;
use domain::ids::NutsCode;
use domain::money::Euro;
use register::counters::{Area, CounterError, EventKind, OperatorEvent, aggregate};
use register::eligibility::{RegisterError, ReminderKey};
use register::model::{ModelError, RenewalError, SoaClass, SoaClassLimits, StatusError};
use register::*;
use std::collections::HashSet;
use uuid::Uuid;

fn op(n: u128) -> OperatorId {
    OperatorId(Uuid::from_u128(n))
}
fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn eur(s: &str) -> Euro {
    Euro::parse(s).unwrap()
}
fn nuts(s: &str) -> Territory {
    Territory::Nuts(NutsCode::parse(s).unwrap())
}
fn works(op_n: u128, cat: &str, class: Option<SoaClass>) -> Listing {
    Listing {
        operator: op(op_n),
        qualification: Qualification::Works {
            category: SoaCategory::parse(cat).unwrap(),
            class,
        },
        territories: vec![Territory::National],
        status: ListingStatus::Admitted { on: d(2025, 1, 10) },
        expires_on: d(2027, 12, 31),
    }
}
fn og1_query(amount: &str) -> EligibilityQuery {
    EligibilityQuery {
        category: Category::parse("OG1").unwrap(),
        amount: eur(amount),
        date: d(2026, 6, 1),
        territory: None,
    }
}

#[test]
fn soa_categories_and_classes() {
    for ok in [
        "OG1", "OG13", "OS1", "OS2-A", "OS2-B", "OS12-A", "OS18-B", "OS20-A", "OS35",
    ] {
        let c = SoaCategory::parse(ok).unwrap();
        assert_eq!(c.to_string(), ok);
    }
    for bad in [
        "OG0", "OG14", "OS36", "OS2", "OS12", "OS3-A", "OG1-A", "og1", "OG01", "OS", "OX1",
        "OS2-C", "",
    ] {
        assert!(
            matches!(SoaCategory::parse(bad), Err(ModelError::SoaCategory(_))),
            "{bad}"
        );
    }
    assert_eq!(SoaClass::parse("III-bis").unwrap(), SoaClass::IIIBis);
    assert!(SoaClass::parse("IX").is_err());
    assert!(SoaClass::I < SoaClass::VIII);
    let limits = SoaClassLimits::official();
    // class I: 258,000, covering up to 309,600 with the one-fifth increase
    assert!(limits.covers(SoaClass::I, eur("309600.00")));
    assert!(!limits.covers(SoaClass::I, eur("309600.01")));
    let strict = SoaClassLimits {
        increase_by_one_fifth: false,
        ..SoaClassLimits::official()
    };
    assert!(strict.covers(SoaClass::I, eur("258000.00")));
    assert!(!strict.covers(SoaClass::I, eur("258000.01")));
    assert!(limits.covers(SoaClass::VIII, Euro::from_cents(i64::MAX).unwrap()));
}

#[test]
fn categories_parse_and_serde() {
    assert_eq!(
        Category::parse("90").unwrap(),
        Category::Cpv(CpvDivision::new(90).unwrap())
    );
    assert!(matches!(
        Category::parse("99"),
        Err(ModelError::CpvDivision(_))
    ));
    assert!(matches!(Category::parse("9"), Err(ModelError::Category(_))));
    let c = Category::parse("OS12-A").unwrap();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, "\"OS12-A\"");
    assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), c);
    assert!(serde_json::from_str::<Category>("\"OS12\"").is_err());
    use domain::thresholds::ContractObject;
    assert_eq!(c.contract_object(), ContractObject::Works);
    assert_eq!(
        Category::parse("45").unwrap().contract_object(),
        ContractObject::Works
    );
    assert_eq!(
        Category::parse("90").unwrap().contract_object(),
        ContractObject::Services
    );
    assert_eq!(
        Category::parse("30").unwrap().contract_object(),
        ContractObject::Supplies
    );
    let cpv = domain::ids::Cpv::parse("90511000-2").unwrap();
    assert_eq!(CpvDivision::from(&cpv).to_string(), "90");
}

#[test]
fn listing_status_changes_need_reasons_and_removal_is_final() {
    let mut l = works(1, "OG1", Some(SoaClass::II));
    assert_eq!(
        l.suspend(d(2026, 1, 1), "  "),
        Err(StatusError::MissingReason("suspend"))
    );
    l.suspend(d(2026, 1, 1), "DURC irregolare").unwrap();
    assert!(
        matches!(l.status, ListingStatus::Suspended { ref reason, .. } if reason == "DURC irregolare")
    );
    assert!(matches!(
        l.suspend(d(2026, 1, 2), "again"),
        Err(StatusError::NotAllowed { .. })
    ));
    l.admit(d(2026, 2, 1)).unwrap();
    assert!(matches!(
        l.admit(d(2026, 2, 2)),
        Err(StatusError::NotAllowed { .. })
    ));
    assert_eq!(
        l.remove(d(2026, 3, 1), ""),
        Err(StatusError::MissingReason("remove"))
    );
    l.remove(d(2026, 3, 1), "false declaration").unwrap();
    assert_eq!(
        l.admit(d(2026, 4, 1)),
        Err(StatusError::Removed(d(2026, 3, 1)))
    );
    assert_eq!(
        l.remove(d(2026, 4, 1), "x"),
        Err(StatusError::Removed(d(2026, 3, 1)))
    );
}

#[test]
fn renewal_moves_the_expiry_of_an_admitted_listing_only() {
    let mut l = works(1, "OG1", Some(SoaClass::II));
    let today = d(2027, 11, 1);
    assert_eq!(
        l.renew(today, d(2027, 12, 31)),
        Err(RenewalError::NotLater {
            current: d(2027, 12, 31),
            new: d(2027, 12, 31)
        })
    );
    assert_eq!(
        l.renew(today, today),
        Err(RenewalError::NotAfterToday { today, new: today })
    );
    l.renew(today, d(2030, 12, 31)).unwrap();
    assert_eq!(l.expires_on, d(2030, 12, 31));
    assert_eq!(l.status, ListingStatus::Admitted { on: d(2025, 1, 10) });
    // an expired listing can be renewed to a future date
    let mut expired = works(2, "OG1", None);
    expired.expires_on = d(2026, 1, 1);
    expired.renew(today, d(2028, 1, 1)).unwrap();
    assert_eq!(expired.expires_on, d(2028, 1, 1));
    // nor applied, nor suspended, nor removed
    let mut applied = works(3, "OG1", None);
    applied.status = ListingStatus::Applied;
    assert_eq!(
        applied.renew(today, d(2030, 1, 1)),
        Err(RenewalError::Status(StatusError::NotAllowed {
            action: "renew",
            current: "applied"
        }))
    );
    l.suspend(today, "DURC irregolare").unwrap();
    assert_eq!(
        l.renew(today, d(2031, 1, 1)),
        Err(RenewalError::Status(StatusError::NotAllowed {
            action: "renew",
            current: "suspended"
        }))
    );
    l.remove(today, "false declaration").unwrap();
    assert_eq!(
        l.renew(today, d(2031, 1, 1)),
        Err(RenewalError::Status(StatusError::Removed(today)))
    );
    assert_eq!(l.expires_on, d(2030, 12, 31));
}

#[test]
fn register_refuses_duplicate_listings() {
    let err = Register::new(vec![
        works(1, "OG1", None),
        works(1, "OG1", Some(SoaClass::I)),
    ])
    .unwrap_err();
    assert!(matches!(err, RegisterError::DuplicateListing { operator, .. } if operator == op(1)));
    assert!(Register::new(vec![works(1, "OG1", None), works(1, "OG2", None)]).is_ok());
}

#[test]
fn eligibility_filters() {
    let rules = EligibilityRules::default();
    let mut suspended = works(2, "OG1", Some(SoaClass::V));
    suspended
        .suspend(d(2026, 1, 1), "verifica in corso")
        .unwrap();
    let mut removed = works(3, "OG1", Some(SoaClass::V));
    removed.remove(d(2026, 1, 1), "cancellata").unwrap();
    let mut applied = works(4, "OG1", Some(SoaClass::V));
    applied.status = ListingStatus::Applied;
    let mut expired = works(5, "OG1", Some(SoaClass::V));
    expired.expires_on = d(2026, 5, 31);
    let mut expiring_today = works(6, "OG1", Some(SoaClass::V));
    expiring_today.expires_on = d(2026, 6, 1);
    let mut piemonte = works(7, "OG1", Some(SoaClass::V));
    piemonte.territories = vec![nuts("ITC1")];
    let mut lombardia = works(8, "OG1", Some(SoaClass::V));
    lombardia.territories = vec![nuts("ITC4")];
    let reg = Register::new(vec![
        works(1, "OG1", Some(SoaClass::II)),
        suspended,
        removed,
        applied,
        expired,
        expiring_today,
        piemonte,
        lombardia,
        works(9, "OG1", Some(SoaClass::I)),
        works(10, "OG1", None),
        works(11, "OG3", Some(SoaClass::VIII)),
    ])
    .unwrap();

    // 600,000: class II (516,000 + 1/5 = 619,200) qualifies, class I does not, no class does not
    let q = og1_query("600000.00");
    assert_eq!(reg.eligible(&q, &rules), vec![op(1), op(6), op(7), op(8)]);
    assert_eq!(
        reg.check(op(2), &q, &rules),
        Err(Ineligible::NotAdmitted("suspended"))
    );
    assert_eq!(
        reg.check(op(3), &q, &rules),
        Err(Ineligible::NotAdmitted("removed"))
    );
    assert_eq!(
        reg.check(op(4), &q, &rules),
        Err(Ineligible::NotAdmitted("applied"))
    );
    assert_eq!(
        reg.check(op(5), &q, &rules),
        Err(Ineligible::Expired(d(2026, 5, 31)))
    );
    assert!(matches!(
        reg.check(op(9), &q, &rules),
        Err(Ineligible::ClassTooLow {
            class: SoaClass::I,
            ..
        })
    ));
    assert!(matches!(
        reg.check(op(10), &q, &rules),
        Err(Ineligible::NoSoaClass { .. })
    ));
    assert!(matches!(
        reg.check(op(11), &q, &rules),
        Err(Ineligible::NotListed(..))
    ));

    // below 150,000 a works listing without SOA class suffices
    let small = og1_query("149999.99");
    assert!(reg.eligible(&small, &rules).contains(&op(10)));
    assert!(
        !reg.eligible(&og1_query("150000.00"), &rules)
            .contains(&op(10))
    );

    // territory: Torino (ITC11) is covered by ITC1 and National, not by ITC4
    let torino = EligibilityQuery {
        territory: Some(NutsCode::parse("ITC11").unwrap()),
        ..og1_query("600000.00")
    };
    assert_eq!(reg.eligible(&torino, &rules), vec![op(1), op(6), op(7)]);
    assert_eq!(
        reg.check(op(8), &torino, &rules),
        Err(Ineligible::Territory("ITC11".into()))
    );

    // the category must match
    let og3 = EligibilityQuery {
        category: Category::parse("OG3").unwrap(),
        ..og1_query("20000000.00")
    };
    assert_eq!(reg.eligible(&og3, &rules), vec![op(11)]);
}

#[test]
fn reminders_are_due_once_per_window_and_late_rather_than_never() {
    let mut a = works(1, "OG1", None);
    a.expires_on = d(2026, 7, 31);
    let mut b = works(2, "OG1", None);
    b.expires_on = d(2026, 7, 5);
    let mut removed = works(3, "OG1", None);
    removed.expires_on = d(2026, 7, 5);
    removed.remove(d(2026, 1, 1), "r").unwrap();
    let mut gone = works(4, "OG1", None);
    gone.expires_on = d(2026, 6, 30);
    let listings = vec![a, b, removed, gone];
    let schedule = [30, 7];
    let mut sent = HashSet::new();

    // 1 July: a is 30 days away (window 30), b is 4 days away (window 7: the 30-day one was missed)
    let due = reminders_due(&listings, d(2026, 7, 1), &schedule, &sent);
    let got: Vec<(OperatorId, u32, i64)> = due
        .iter()
        .map(|r| (r.key.operator, r.key.days_before, r.days_left))
        .collect();
    assert_eq!(got, vec![(op(1), 30, 30), (op(2), 7, 4)]);
    sent.extend(due.into_iter().map(|r| r.key));
    // the next day nothing new
    assert!(reminders_due(&listings, d(2026, 7, 2), &schedule, &sent).is_empty());
    // 24 July: a enters the 7-day window
    let due = reminders_due(&listings, d(2026, 7, 24), &schedule, &sent);
    assert_eq!(
        due.iter().map(|r| &r.key).collect::<Vec<_>>(),
        vec![&ReminderKey {
            operator: op(1),
            category: Category::parse("OG1").unwrap(),
            expires_on: d(2026, 7, 31),
            days_before: 7
        }]
    );
    // 30 May: nothing is within 30 days (the earliest expiry, 30 June, is 31 days away)
    assert!(reminders_due(&listings, d(2026, 5, 30), &schedule, &HashSet::new()).is_empty());
}

#[test]
fn counters_per_province_and_municipality() {
    let province = Uuid::from_u128(100);
    let comune_a = Uuid::from_u128(101);
    let comune_b = Uuid::from_u128(102);
    let buyer = |m: Option<Uuid>| Buyer {
        province,
        municipality: m,
    };
    let ev = |o, m, date, kind| OperatorEvent {
        operator: op(o),
        buyer: buyer(m),
        date,
        kind,
    };
    let events = vec![
        ev(1, Some(comune_a), d(2026, 1, 10), EventKind::Invited),
        ev(1, Some(comune_a), d(2026, 1, 20), EventKind::Bid),
        ev(
            1,
            Some(comune_a),
            d(2026, 2, 1),
            EventKind::Awarded {
                amount: eur("100000.50"),
            },
        ),
        ev(1, Some(comune_b), d(2026, 3, 1), EventKind::Invited),
        ev(
            1,
            None,
            d(2026, 4, 1),
            EventKind::Awarded {
                amount: eur("0.50"),
            },
        ),
        ev(2, Some(comune_b), d(2026, 3, 1), EventKind::Invited),
        ev(1, Some(comune_b), d(2025, 12, 31), EventKind::Invited),
    ];
    let all = aggregate(&events, None, None).unwrap();
    let p1 = all.get(op(1), Area::Province(province));
    assert_eq!(
        (p1.invitations, p1.bids, p1.awards, p1.awarded),
        (3, 1, 2, eur("100001.00"))
    );
    let a1 = all.get(op(1), Area::Municipality(comune_a));
    assert_eq!(
        (a1.invitations, a1.bids, a1.awards, a1.awarded),
        (1, 1, 1, eur("100000.50"))
    );
    let b1 = all.get(op(1), Area::Municipality(comune_b));
    assert_eq!((b1.invitations, b1.awards), (2, 0));
    assert_eq!(all.get(op(2), Area::Province(province)).invitations, 1);
    assert_eq!(all.get(op(3), Area::Province(province)).invitations, 0);

    let in_2026 = aggregate(&events, Some(d(2026, 1, 1)), Some(d(2026, 12, 31))).unwrap();
    assert_eq!(
        in_2026.get(op(1), Area::Municipality(comune_b)).invitations,
        1
    );
    assert_eq!(
        aggregate(&events, Some(d(2026, 2, 1)), Some(d(2026, 1, 1))),
        Err(CounterError::EmptyPeriod {
            from: d(2026, 2, 1),
            to: d(2026, 1, 1)
        })
    );
    let max = Euro::from_cents(i64::MAX).unwrap();
    let overflow = vec![
        ev(1, None, d(2026, 1, 1), EventKind::Awarded { amount: max }),
        ev(
            1,
            None,
            d(2026, 1, 2),
            EventKind::Awarded {
                amount: eur("0.01"),
            },
        ),
    ];
    assert_eq!(
        aggregate(&overflow, None, None),
        Err(CounterError::Overflow(op(1)))
    );
}
