//! Selection on a register of 100,000 operators: eligibility + rotation + draw of 10 (target < 50 ms).

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use domain::ids::NutsCode;
use domain::money::Euro;
use domain::thresholds::ThresholdTable;
use register::*;
use std::hint::black_box;
use uuid::Uuid;

const OPERATORS: u128 = 100_000;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn province() -> Uuid {
    Uuid::from_u128(1)
}

/// Every operator is listed in OG1 (classes, statuses, expiry dates and territories varied) and every other
/// one also in CPV division 90: 150,000 listings.
fn build() -> (Register, Vec<AwardRecord>) {
    let og1 = SoaCategory::parse("OG1").unwrap();
    let territories = ["ITC11", "ITC12", "ITC1", "ITC4", "ITH3"]
        .map(|t| Territory::Nuts(NutsCode::parse(t).unwrap()));
    let mut listings = Vec::with_capacity(150_000);
    for n in 0..OPERATORS {
        let operator = OperatorId(Uuid::from_u128(n * 7919 + 13));
        let status = match n % 20 {
            0 => ListingStatus::Suspended {
                on: d(2026, 1, 1),
                reason: "verifica".into(),
            },
            1 => ListingStatus::Applied,
            _ => ListingStatus::Admitted { on: d(2025, 1, 1) },
        };
        let expires_on = if n % 17 == 0 {
            d(2026, 1, 31)
        } else {
            d(2027, 12, 31)
        };
        let territory = if n % 3 == 0 {
            Territory::National
        } else {
            territories[(n % 5) as usize].clone()
        };
        listings.push(Listing {
            operator,
            qualification: Qualification::Works {
                category: og1,
                class: Some(SoaClass::ALL[(n % 10) as usize]),
            },
            territories: vec![territory.clone()],
            status: status.clone(),
            expires_on,
        });
        if n % 2 == 0 {
            listings.push(Listing {
                operator,
                qualification: Qualification::Cpv {
                    division: CpvDivision::new(90).unwrap(),
                },
                territories: vec![territory],
                status,
                expires_on,
            });
        }
    }
    let history = (0..20_000u128)
        .map(|i| AwardRecord {
            operator: OperatorId(Uuid::from_u128((i * 31 % OPERATORS) * 7919 + 13)),
            category: Category::Works(og1),
            amount: Euro::from_cents(((i % 50) as i64 + 1) * 10_000_000).unwrap(),
            date: d(2024, 1, 1) + chrono::Days::new((i % 880) as u64),
            buyer: Buyer {
                province: province(),
                municipality: Some(Uuid::from_u128(1000 + i % 250)),
            },
        })
        .collect();
    (Register::new(listings).unwrap(), history)
}

fn bench(c: &mut Criterion) {
    let (register, history) = build();
    let table = ThresholdTable::official();
    let config = SelectionConfig::default();
    let request = ProcedureRequest {
        category: Category::parse("OG1").unwrap(),
        amount: Euro::from_cents(150_000_000).unwrap(),
        date: d(2026, 6, 1),
        buyer: Buyer {
            province: province(),
            municipality: Some(Uuid::from_u128(1007)),
        },
        territory: Some(NutsCode::parse("ITC11").unwrap()),
        scope: None,
    };
    let mut i = 0u64;
    c.bench_function(
        "select 10 of 100k operators (eligibility + rotation + draw)",
        |b| {
            b.iter(|| {
                i += 1;
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&i.to_le_bytes());
                let mode = SelectionMode::Draw {
                    invitees: 10,
                    seed,
                    motivation: "benchmark".into(),
                };
                let s = select_invitees(
                    &register,
                    &history,
                    black_box(&request),
                    &mode,
                    &[],
                    &config,
                    &table,
                )
                .unwrap();
                assert_eq!(s.invited.len(), 10);
                black_box(s)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
