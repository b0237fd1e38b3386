//! Property tests (issue 3): order independence, threshold bounds, scores in [0, max],
//! trailing-zero invariance, and agreement of Metodo A with a naive reference written from the
//! text of Allegato II.2 (exact fractions, one element at a time).

use evaluation::anomaly::{self, AnomalyParams, DiscountBid, Method, Outcome};
use evaluation::exact::{Q, q};
use evaluation::lowest_price::{self, LowestPriceInput};
use evaluation::quality_price::{
    self, Coefficient, ConcaveBase, Criterion, EconomicFormula, QualityBid, QualityPriceParams,
    Riparametrazione, ScoreRounding,
};
use evaluation::{evaluate_json, exact};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Ribassi with 3 decimals in [0, 40), drawn from a small or a large pool (to get ties).
fn discounts(min: usize, max: usize) -> impl Strategy<Value = Vec<Decimal>> {
    prop_oneof![
        prop::collection::vec(0u32..40_000, min..max),
        prop::collection::vec((0u32..12).prop_map(|v| 10_000 + v * 250), min..max),
    ]
    .prop_map(|v| v.into_iter().map(|x| Decimal::new(x as i64, 3)).collect())
}

/// Leaked so that results (which borrow the ids) may outlive the statement.
fn bids(v: &[Decimal]) -> &'static [DiscountBid<'static>] {
    v.iter()
        .enumerate()
        .map(|(i, d)| DiscountBid::new(format!("op-{i:03}"), *d))
        .collect::<Vec<_>>()
        .leak()
}

/// Metodo A written directly from Allegato II.2, independently of the crate's code.
fn reference_a(values: &[Decimal]) -> Option<(Q, Vec<bool>)> {
    let n = values.len();
    let mut sorted = values.to_vec();
    sorted.sort();
    let k = n.div_ceil(10);
    let (low, high) = (sorted[k - 1], sorted[n - k]);
    let kept: Vec<Q> = values
        .iter()
        .filter(|v| **v > low && **v < high)
        .map(|v| q(*v))
        .collect();
    if kept.is_empty() {
        return None;
    }
    let m =
        kept.iter().fold(Q::from_integer(0), |a, v| a + v) / Q::from_integer(kept.len() as i128);
    let above: Vec<&Q> = kept.iter().filter(|v| **v > m).collect();
    if above.is_empty() {
        return None;
    }
    let sm = above.iter().fold(Q::from_integer(0), |a, v| a + (**v - m))
        / Q::from_integer(above.len() as i128);
    let t = if n >= 15 {
        let s: Decimal = values.iter().filter(|v| **v > low && **v < high).sum();
        let text = s.normalize().to_string();
        let frac = text.split('.').nth(1).unwrap_or("");
        let digit = |i: usize| {
            frac.chars()
                .nth(i)
                .and_then(|c| c.to_digit(10))
                .unwrap_or(0) as i128
        };
        let p = digit(0) * digit(1);
        m + sm - sm * Q::new(p, 100)
    } else if sm / m <= Q::new(15, 100) {
        m * Q::new(6, 5)
    } else {
        m + sm
    };
    Some((t, values.iter().map(|v| q(*v) >= t).collect()))
}

fn lp(values: &[Decimal], method: Method, reference: Decimal) -> LowestPriceInput<'static> {
    let mut p = AnomalyParams::new(method);
    if method == Method::C {
        p.reference_discount = Some(reference);
    }
    LowestPriceInput {
        bids: bids(values).to_vec(),
        prices: Vec::new(),
        base_amount: None,
        discount_rounding: None,
        anomaly: Some(p),
        seed: Some(2026),
    }
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::A), Just(Method::B), Just(Method::C)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn method_a_agrees_with_the_reference(v in discounts(5, 60)) {
        let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
        match reference_a(&v) {
            None => prop_assert_eq!(r.outcome, Outcome::Undetermined),
            Some((t, excluded)) => {
                prop_assert_eq!(r.outcome, Outcome::Computed);
                prop_assert_eq!(r.threshold_exact.clone(), Some(exact::fraction_string(&t)));
                let mut got = vec![false; v.len()];
                for i in &r.excluded_index {
                    got[*i] = true;
                }
                prop_assert_eq!(got, excluded);
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_order_of_the_bids(
        (v, perm) in discounts(0, 50).prop_flat_map(|v| {
            let idx: Vec<usize> = (0..v.len()).collect();
            (Just(v), Just(idx).prop_shuffle())
        }),
        m in method(),
        reference in (0u32..30_000).prop_map(|x| Decimal::new(x as i64, 3)),
    ) {
        let input = lp(&v, m, reference);
        let a = lowest_price::evaluate(&input).unwrap();
        // Same bids (same ids and ribassi), presented in another order.
        let mut shuffled = lp(&v, m, reference);
        let original = shuffled.bids.clone();
        shuffled.bids = perm.iter().map(|&i| original[i].clone()).collect();
        let b = lowest_price::evaluate(&shuffled).unwrap();
        prop_assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap());
    }

    #[test]
    fn threshold_lies_between_min_and_max_for_method_a(v in discounts(5, 60)) {
        let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
        // T = M + SM(1 - p/100) and T = M + SM lie within the kept bids; 1.2 M need not
        // (see `one_point_two_times_the_mean_can_exceed_every_bid`).
        let bounded = r.outcome == Outcome::Computed
            && r.ratio.is_none_or(|ratio| ratio > Decimal::new(15, 2));
        if bounded {
            let t = r.threshold.unwrap();
            let min = v.iter().min().unwrap();
            let max = v.iter().max().unwrap();
            prop_assert!(*min <= t && t <= *max, "{} not in [{}, {}]", t, min, max);
        }
    }

    #[test]
    fn trailing_zeros_change_nothing(v in discounts(0, 40), m in method(), zeros in 1usize..4) {
        let doc = |pad: &str| {
            let bids: Vec<Value> = v
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let s = d.to_string();
                    let s = if s.contains('.') { format!("{s}{pad}") } else { format!("{s}.{pad}0") };
                    json!({"id": format!("op-{i:03}"), "discount": s})
                })
                .collect();
            let mut anomaly = json!({"method": format!("{m:?}")});
            if m == Method::C {
                anomaly["reference_discount"] = json!(format!("15.5{pad}"));
            }
            json!({"criterion": "lowest_price", "anomaly": anomaly, "bids": bids, "seed": "5"}).to_string()
        };
        let plain = evaluate_json(&doc("")).unwrap();
        let padded = evaluate_json(&doc(&"0".repeat(zeros))).unwrap();
        prop_assert_eq!(plain, padded);
    }
}

fn formula() -> impl Strategy<Value = EconomicFormula> {
    prop_oneof![
        Just(EconomicFormula::Linear),
        (80u32..=90).prop_map(|x| EconomicFormula::Bilinear {
            x: Decimal::new(x as i64, 2)
        }),
        (1u32..=9, any::<bool>()).prop_map(|(a, m)| EconomicFormula::Concave {
            alpha: Decimal::new(a as i64, 1),
            base: if m {
                ConcaveBase::Max
            } else {
                ConcaveBase::Mean
            },
        }),
        Just(EconomicFormula::InversePrice),
    ]
}

fn riparametrazione() -> impl Strategy<Value = Riparametrazione> {
    prop_oneof![
        Just(Riparametrazione::None),
        Just(Riparametrazione::First),
        Just(Riparametrazione::FirstAndSecond)
    ]
}

/// Per bid: the commissioners' coefficients (hundredths) per criterion, and the ribasso.
type RawBid = (Vec<Vec<u32>>, u32);

fn qp_case() -> impl Strategy<Value = (Vec<Decimal>, Vec<RawBid>)> {
    prop::collection::vec(1u32..50, 1..5).prop_flat_map(|weights| {
        let nc = weights.len();
        let bid = (
            prop::collection::vec(prop::collection::vec(0u32..=100, 1..4), nc),
            0u32..40_000,
        );
        (
            Just(weights.into_iter().map(Decimal::from).collect::<Vec<_>>()),
            prop::collection::vec(bid, 1..25),
        )
    })
}

fn qp_params(weights: &[Decimal], rip: Riparametrazione, f: EconomicFormula) -> QualityPriceParams {
    QualityPriceParams {
        criteria: weights
            .iter()
            .enumerate()
            .map(|(j, w)| Criterion {
                id: format!("c{j}"),
                weight: *w,
            })
            .collect(),
        riparametrazione: rip,
        sbarramento: None,
        economic_max: Decimal::from(30),
        formula: f,
        rounding: ScoreRounding::default(),
        seed: Some(1),
    }
}

fn qp_bids(raw: &[RawBid]) -> Vec<QualityBid> {
    raw.iter()
        .enumerate()
        .map(|(i, (coefs, disc))| QualityBid {
            id: format!("op-{i:03}"),
            coefficients: coefs
                .iter()
                .map(|c| {
                    Coefficient::Commissioners(
                        c.iter().map(|x| Decimal::new(*x as i64, 2)).collect(),
                    )
                })
                .collect(),
            discount: Some(Decimal::new(*disc as i64, 3)),
            price: None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scores_lie_in_zero_to_max((weights, raw) in qp_case(), rip in riparametrazione(), f in formula()) {
        let p = qp_params(&weights, rip, f);
        let r = quality_price::evaluate(&p, &qp_bids(&raw)).unwrap();
        let tmax: Decimal = weights.iter().sum();
        let tol = Decimal::new(1, 20); // 28-digit division residue of non-terminating values
        for b in &r.bids {
            prop_assert!(b.technical >= Decimal::ZERO && b.technical <= tmax + tol, "technical {}", b.technical);
            let e = b.economic.unwrap();
            prop_assert!(e >= Decimal::ZERO && e <= Decimal::from(30) + tol, "economic {}", e);
            prop_assert!(b.total.unwrap() <= tmax + Decimal::from(30) + tol);
            for c in &b.criteria {
                prop_assert!(c.coefficient >= Decimal::ZERO && c.coefficient <= Decimal::ONE);
            }
        }
        if rip != Riparametrazione::None {
            // After the first riparametrazione the best bid on each criterion has coefficient 1
            // (unless every coefficient on it is 0).
            for j in 0..weights.len() {
                let best = r.bids.iter().filter_map(|b| b.criteria[j].riparametrized).max().unwrap();
                prop_assert!(best == Decimal::ONE || best.is_zero());
            }
        }
    }

    #[test]
    fn quality_price_does_not_depend_on_the_order((weights, raw) in qp_case(), rip in riparametrazione(), f in formula()) {
        let p = qp_params(&weights, rip, f);
        let bids = qp_bids(&raw);
        let mut rev = bids.clone();
        rev.reverse();
        let a = serde_json::to_value(quality_price::evaluate(&p, &bids).unwrap()).unwrap();
        let b = serde_json::to_value(quality_price::evaluate(&p, &rev).unwrap()).unwrap();
        prop_assert_eq!(a, b);
    }
}

/// Finding while writing the properties: with SM/M <= 0.15 the threshold 1.2 M can exceed every
/// bid (kept 9.95, 10, 10.05: M = 10, SM = 0.05, T = 12 > 10.1), so nobody is excluded.
#[test]
fn one_point_two_times_the_mean_can_exceed_every_bid() {
    let v: Vec<Decimal> = ["9.9", "9.95", "10", "10.05", "10.1"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    assert_eq!(r.threshold, Some(Decimal::from(12)));
    assert!(r.excluded.is_empty());
}
