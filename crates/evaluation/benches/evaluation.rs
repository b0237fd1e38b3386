//! Benchmarks of issue 3: 100,000 bids with Metodo A + ranking (target < 50 ms on one core),
//! and quality-price with 10 criteria x 10,000 bids. Run with `cargo bench -p evaluation`.

use criterion::{Criterion, criterion_group, criterion_main};
use evaluation::anomaly::{AnomalyParams, DiscountBid, Method};
use evaluation::lowest_price::{self, LowestPriceInput};
use evaluation::quality_price::{
    self, Coefficient, Criterion as TechCriterion, EconomicFormula, QualityBid, QualityPriceParams,
    Riparametrazione, ScoreRounding,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use std::hint::black_box;
use std::time::Duration;

fn lowest_price_input(n: usize) -> LowestPriceInput<'static> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let bids = (0..n)
        .map(|i| {
            DiscountBid::new(
                format!("op-{i:06}"),
                Decimal::new(rng.random_range(5_000..35_000), 3),
            )
        })
        .collect();
    LowestPriceInput {
        bids,
        prices: Vec::new(),
        base_amount: None,
        discount_rounding: None,
        anomaly: Some(AnomalyParams::new(Method::A)),
        seed: Some(7),
    }
}

fn quality_input(criteria: usize, n: usize) -> (QualityPriceParams, Vec<QualityBid>) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let params = QualityPriceParams {
        criteria: (0..criteria)
            .map(|j| TechCriterion {
                id: format!("c{j}"),
                weight: Decimal::from(7),
            })
            .collect(),
        riparametrazione: Riparametrazione::FirstAndSecond,
        sbarramento: None,
        economic_max: Decimal::from(30),
        formula: EconomicFormula::Bilinear {
            x: Decimal::new(90, 2),
        },
        rounding: ScoreRounding::default(),
        seed: Some(7),
    };
    let bids = (0..n)
        .map(|i| QualityBid {
            id: format!("op-{i:06}"),
            coefficients: (0..criteria)
                .map(|_| Coefficient::Given(Decimal::new(rng.random_range(0..=100), 2)))
                .collect(),
            discount: Some(Decimal::new(rng.random_range(0..30_000), 3)),
            price: None,
        })
        .collect();
    (params, bids)
}

fn benches(c: &mut Criterion) {
    let lp = lowest_price_input(100_000);
    c.bench_function("lowest_price_method_a_100k_bids", |b| {
        b.iter(|| lowest_price::evaluate(black_box(&lp)).unwrap())
    });
    let (params, bids) = quality_input(10, 10_000);
    c.bench_function("quality_price_10_criteria_10k_bids", |b| {
        b.iter(|| quality_price::evaluate(black_box(&params), black_box(&bids)).unwrap())
    });
}

criterion_group! {
    name = evaluation;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(evaluation);
