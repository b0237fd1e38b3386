//! Worked examples and edge cases of the automatic exclusion (art. 54, Allegato II.2).
//! Each test names its source; figures not taken from a source were computed by hand with
//! exact fractions (shown in the comments) from the formulas in `docs/evaluation.md`.

use evaluation::anomaly::{
    self, AnomalyParams, AwardRule, DecrementReading, DiscountBid, Method, Outcome,
};
use evaluation::lowest_price::{self, LowestPriceInput};
use evaluation::rounding::{Rounding, RoundingMode};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Bids "op-01", "op-02", ... in the order given (leaked: results borrow the ids).
fn bids(values: &[&str]) -> &'static [DiscountBid<'static>] {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| DiscountBid::new(format!("op-{:02}", i + 1), d(v)))
        .collect::<Vec<_>>()
        .leak()
}

fn ids(v: &[usize]) -> Vec<String> {
    v.iter().map(|i| format!("op-{i:02}")).collect()
}

fn lowest(
    values: &[&str],
    anomaly: Option<AnomalyParams>,
    seed: Option<u64>,
) -> lowest_price::LowestPriceResult<'static> {
    let input: &'static LowestPriceInput = Box::leak(Box::new(LowestPriceInput {
        bids: bids(values).to_vec(),
        prices: Vec::new(),
        base_amount: None,
        discount_rounding: None,
        anomaly,
        seed,
    }));
    lowest_price::evaluate(input).unwrap()
}

/// MIT circolare n. 8/2019 example, as paraphrased by
/// https://funzionarioamministrativo.it/2019/12/02/calcolo-soglia-anomalia-oltre-15 (20 bids).
const MIT: [&str; 20] = [
    "10.011", "11.110", "11.110", "11.431", "11.691", "12.751", "12.961", "13.471", "13.581",
    "13.910", "14.721", "14.812", "15.220", "15.627", "16.142", "16.352", "16.460", "16.752",
    "16.875", "16.992",
];

#[test]
fn mit_circolare_8_2019_method_a_point_1() {
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&MIT)).unwrap();
    assert_eq!(r.outcome, Outcome::Computed);
    // 10% of 20 = 2 per wing; bid 3 equals bid 2 (the 2nd lowest), so it is set aside too.
    assert_eq!(r.wing_size, Some(2));
    assert_eq!(r.cut_low, ids(&[1, 2, 3]));
    assert_eq!(r.cut_high, ids(&[19, 20]));
    assert_eq!(r.kept, Some(15));
    assert_eq!(r.sum, Some(d("215.882")));
    // M = 215.882 / 15 = 107941/7500; 8 kept bids above it; SM = 82117/60000.
    assert_eq!(r.above_mean, Some(8));
    assert!(r.mean.unwrap().to_string().starts_with("14.3921333333"));
    assert!(
        r.mean_excess
            .unwrap()
            .to_string()
            .starts_with("1.3686166666")
    );
    assert_eq!(r.sum_decimals, vec!["8", "8"]);
    assert_eq!(r.decrement_product, Some(d("64")));
    // T = M + SM - SM * 64 / 100 = 22327253/1500000 = 14.8848353333...
    assert_eq!(r.threshold_exact.as_deref(), Some("22327253/1500000"));
    assert!(
        r.threshold
            .unwrap()
            .to_string()
            .starts_with("14.88483533333")
    );
    assert_eq!(r.excluded, ids(&[13, 14, 15, 16, 17, 18, 19, 20]));
    let res = lowest(&MIT, Some(AnomalyParams::new(Method::A)), None);
    assert_eq!(res.winner, Some("op-12")); // 14.812
    assert_eq!(res.award_discount, Some(d("14.812")));
    assert_eq!(res.ranking.len(), 12);
}

/// Same data, the rejected TAR Marche 622/2019 reading of letter d): T = (M+SM)(1 - SM p/10000).
/// The reference note (§3.1) gives 15.623 for this reading.
#[test]
fn mit_example_with_the_proportional_decrement_reading() {
    let mut p = AnomalyParams::new(Method::A);
    p.decrement = DecrementReading::Proportional;
    let r = anomaly::compute(&p, bids(&MIT)).unwrap();
    assert_eq!(
        r.threshold_exact.as_deref(),
        Some("585851222969/37500000000")
    );
    let rounded = Rounding::new(3, RoundingMode::HalfUp).apply(r.threshold.unwrap());
    assert_eq!(rounded, d("15.623"));
    // 15.220 is no longer excluded under this reading.
    assert_eq!(r.excluded, ids(&[14, 15, 16, 17, 18, 19, 20]));
}

/// A rounded threshold (3 decimals, half up) as the tender may require; recorded in the result.
#[test]
fn threshold_rounding_is_applied_and_recorded() {
    let mut p = AnomalyParams::new(Method::A);
    p.threshold_rounding = Some(Rounding::new(3, RoundingMode::HalfUp));
    let r = anomaly::compute(&p, bids(&MIT)).unwrap();
    assert_eq!(r.threshold, Some(d("14.885")));
    assert_eq!(r.rounding.threshold, p.threshold_rounding);
    assert_eq!(r.excluded.len(), 8);
}

/// Metodo B (TuttoGare reading): digit sum of 215.882 is 2+1+5+8+8 = 24, even, so T = M+SM-SM*p/100,
/// the same value as Metodo A point 1; the exclusion is strict.
#[test]
fn method_b_even_parity_on_the_mit_data() {
    let r = anomaly::compute(&AnomalyParams::new(Method::B), bids(&MIT)).unwrap();
    assert_eq!(r.parity_digit_sum, Some(24));
    assert_eq!(r.parity.as_deref(), Some("even"));
    assert_eq!(r.threshold_exact.as_deref(), Some("22327253/1500000"));
    assert_eq!(r.comparison.as_deref(), Some("discount > threshold"));
    assert_eq!(r.excluded.len(), 8);
}

/// Metodo B, odd parity: bid 4 changed to 11.441, S = 215.892, digits 2+1+5+8+9 = 25 (odd),
/// p = 72, T = M + SM + SM*72/100 = 8372837/500000 = 16.745674.
#[test]
fn method_b_odd_parity_adds_the_variation() {
    let mut v = MIT;
    v[3] = "11.441";
    let r = anomaly::compute(&AnomalyParams::new(Method::B), bids(&v)).unwrap();
    assert_eq!(r.parity_digit_sum, Some(25));
    assert_eq!(r.parity.as_deref(), Some("odd"));
    assert_eq!(r.decrement_product, Some(d("72")));
    assert_eq!(r.threshold, Some(d("16.745674")));
    assert_eq!(r.excluded, ids(&[18, 19, 20]));
}

/// Metodo C with the reference discount of the TuttoGare table (OG1, 0-150k, 50th percentile,
/// 23.791, quoted in the reference note §3.4): T = 23.791 - SM*64/100 = 22.915085333...
#[test]
fn method_c_uses_the_reference_discount() {
    let r = anomaly::compute(&AnomalyParams::method_c(d("23.791")), bids(&MIT)).unwrap();
    assert_eq!(r.threshold_base, Some(d("23.791")));
    assert_eq!(r.threshold_exact.as_deref(), Some("8593157/375000"));
    assert!(r.excluded.is_empty());
    let res = lowest(&MIT, Some(AnomalyParams::method_c(d("23.791"))), None);
    assert_eq!(res.winner, Some("op-20"));
}

#[test]
fn method_c_without_reference_discount_is_refused() {
    let err = anomaly::compute(&AnomalyParams::new(Method::C), bids(&MIT)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "anomaly.reference_discount: required for method C"
    );
}

/// Edge case: ratio SM/M exactly 0.15 takes the "pari o inferiore" branch (T = 1.2 M).
/// Kept 7, 8.5, 11.5, 11.5, 11.5: M = 10, SM = 1.5, ratio = 3/20.
#[test]
fn ratio_exactly_015_gives_120_percent_of_the_mean() {
    let v = ["5", "7", "8.5", "11.5", "11.5", "11.5", "20"];
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    assert_eq!(r.ratio, Some(d("0.15")));
    assert_eq!(r.branch.as_deref(), Some("SM / M <= 0.15: T = M * 1.2"));
    assert_eq!(r.threshold, Some(d("12")));
    assert_eq!(r.excluded, ids(&[7]));
    // A hair above 0.15 switches to T = M + SM.
    let v2 = ["5", "7", "8.5", "11.5", "11.5", "11.501", "20"];
    let r2 = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v2)).unwrap();
    assert!(r2.ratio.unwrap() > d("0.15"));
    assert_eq!(r2.branch.as_deref(), Some("SM / M > 0.15: T = M + SM"));
}

/// Edge case: a bid exactly on the threshold. Metodo A excludes it ("pari o superiore",
/// Cons. Stato 5780/2024); Metodi B and C keep it (strict comparison).
#[test]
fn a_bid_exactly_on_the_threshold() {
    let v = ["5", "7", "8.5", "11.5", "11.5", "11.5", "12"];
    let a = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    assert_eq!(a.threshold, Some(d("12")));
    assert_eq!(a.excluded, ids(&[7]));
    // B: S = 50.00, p = 0, T = M + SM = 11.5: the three bids at 11.5 stay, 12 goes.
    let b = anomaly::compute(&AnomalyParams::new(Method::B), bids(&v)).unwrap();
    assert_eq!(b.threshold, Some(d("11.5")));
    assert_eq!(b.excluded, ids(&[7]));
    // C with reference 12: T = 12, nobody strictly above.
    let c = anomaly::compute(&AnomalyParams::method_c(d("12")), bids(&v)).unwrap();
    assert_eq!(c.threshold, Some(d("12")));
    assert!(c.excluded.is_empty());
    // The comparison can be overridden when the tender says so.
    let mut a_strict = AnomalyParams::new(Method::A);
    a_strict.exclude_equal = Some(false);
    assert!(
        anomaly::compute(&a_strict, bids(&v))
            .unwrap()
            .excluded
            .is_empty()
    );
}

/// Exact arithmetic: M = 31/6 does not terminate, yet T = M + SM = 25/2 exactly equals a bid,
/// which must be excluded ("pari o superiore").
#[test]
fn non_terminating_mean_still_compares_exactly() {
    let v = ["0.5", "1", "2", "12.5", "30"];
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    assert_eq!(r.threshold_exact.as_deref(), Some("25/2"));
    assert_eq!(r.threshold, Some(d("12.5")));
    assert_eq!(r.excluded, ids(&[4, 5]));
}

/// Edge case: exactly 5 admitted bids (art. 54 c.1 "pari o superiore a cinque").
/// Kept 11, 12, 13: M = 12, SM = 1, ratio 1/12, T = 14.4.
#[test]
fn exactly_five_bids_apply() {
    let v = ["10", "11", "12", "13", "20"];
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    assert!(r.applicable);
    assert_eq!(r.threshold, Some(d("14.4")));
    assert_eq!(r.excluded, ids(&[5]));
    let res = lowest(&v, Some(AnomalyParams::new(Method::A)), None);
    assert_eq!(res.winner, Some("op-04"));
}

#[test]
fn four_bids_are_not_enough() {
    let v = ["10", "11", "12", "30"];
    let res = lowest(&v, Some(AnomalyParams::new(Method::A)), None);
    assert!(!res.anomaly.applicable);
    assert_eq!(res.anomaly.outcome, Outcome::NotApplicable);
    assert!(res.anomaly.excluded.is_empty());
    assert_eq!(res.winner, Some("op-04"));
    assert!(res.note.unwrap().contains("art. 110"));
}

#[test]
fn one_bid_wins_without_anomaly_check() {
    let res = lowest(&["7.5"], Some(AnomalyParams::new(Method::A)), None);
    assert!(!res.anomaly.applicable);
    assert_eq!(res.winner, Some("op-01"));
    assert_eq!(res.ranking.len(), 1);
}

/// Edge case: all bids equal. Everything falls in the wings; the law gives no threshold, so the
/// result says so and proposes no winner.
#[test]
fn all_bids_equal_leave_the_threshold_undetermined() {
    let v = ["12.5"; 8];
    let res = lowest(&v, Some(AnomalyParams::new(Method::A)), Some(1));
    assert_eq!(res.anomaly.outcome, Outcome::Undetermined);
    assert_eq!(res.anomaly.kept, Some(0));
    assert_eq!(res.anomaly.threshold, None);
    assert_eq!(res.winner, None);
    assert!(res.draw.is_none(), "no draw without a threshold");
    assert_eq!(res.ranking.len(), 8);
    // Without anomaly exclusion, all eight tie for first place.
    let open = lowest(&v, None, None);
    assert_eq!(open.tie.len(), 8);
    assert_eq!(open.winner, None);
}

/// All kept bids equal: no bid above the mean, scarto undefined (reference note §2.3).
#[test]
fn no_kept_bid_above_the_mean() {
    let v = ["10", "12", "12", "12", "14"];
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    assert_eq!(r.outcome, Outcome::Undetermined);
    assert_eq!(r.above_mean, Some(0));
    assert!(r.note.unwrap().contains("scarto"));
}

/// Allegato II.2 Metodo A lett. a): equal ribassi are counted one by one; only ties *at the
/// boundary* of a wing widen it. With the obsolete "blocco unitario" (Ad. Plen. 13/2017) the two
/// 9s would count as one and 10 would be cut too.
#[test]
fn ties_inside_and_at_the_wings() {
    // n = 20, k = 2.
    let mut v = vec!["9", "9", "10", "11"];
    v.extend(["12"; 12]);
    v.extend(["20", "21", "21", "21"]);
    let v: Vec<&str> = v.into_iter().collect();
    let r = anomaly::compute(&AnomalyParams::new(Method::A), bids(&v)).unwrap();
    // Tie inside the low wing: the two 9s fill k = 2, nothing else is cut.
    assert_eq!(r.cut_low, ids(&[1, 2]));
    // Tie at the boundary of the high wing: the 2nd highest is 21, all three 21s are cut.
    assert_eq!(r.cut_high, ids(&[18, 19, 20]));
    assert_eq!(r.kept, Some(15));
}

/// Allegato II.2 Metodo A point 3: a tie between the best non-excluded bids is decided by lot.
/// Without a seed the tie is reported; with a seed the draw is done and recorded, and replays.
#[test]
fn first_place_tie_and_seeded_draw() {
    let v = ["5", "7", "8.5", "11.5", "11.5", "11.5", "20"];
    let open = lowest(&v, Some(AnomalyParams::new(Method::A)), None);
    assert_eq!(open.winner, None);
    assert_eq!(open.tie, ids(&[4, 5, 6]));
    assert!(open.ranking[..3].iter().all(|l| l.rank == 1));
    let drawn = lowest(&v, Some(AnomalyParams::new(Method::A)), Some(20_260_717));
    assert!(drawn.tie.is_empty());
    let rec = drawn.draw.clone().unwrap();
    assert_eq!(rec.seed, 20_260_717);
    assert_eq!(rec.candidates, ids(&[4, 5, 6]));
    assert_eq!(drawn.winner, Some(rec.order[0].as_str()));
    assert_eq!(
        drawn.ranking.iter().map(|l| l.rank).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    let again = lowest(&v, Some(AnomalyParams::new(Method::A)), Some(20_260_717));
    assert_eq!(again, drawn, "a draw replays with the same seed");
}

/// TuttoGare's second-price rule for Metodo B, only as an explicit option.
#[test]
fn method_b_next_lower_discount_option() {
    let mut p = AnomalyParams::new(Method::B);
    p.award = AwardRule::NextLowerDiscount;
    let res = lowest(&MIT, Some(p), None);
    assert_eq!(res.winner, Some("op-12"));
    assert_eq!(res.award_discount, Some(d("14.721")));
    let mut wrong = AnomalyParams::new(Method::A);
    wrong.award = AwardRule::NextLowerDiscount;
    assert!(anomaly::compute(&wrong, bids(&MIT)).is_err());
}

/// Calculators that round every step (TuttoGare "decimali graduatoria"): recorded, and the
/// threshold then differs slightly from the exact one.
#[test]
fn step_rounding_changes_the_intermediate_values() {
    let mut p = AnomalyParams::new(Method::A);
    p.steps_rounding = Some(Rounding::new(3, RoundingMode::Truncate));
    let r = anomaly::compute(&p, bids(&MIT)).unwrap();
    // M = 215.882/15 = 14.39213... -> 14.392; the 8 bids above sum to 126.086,
    // SM = (126.086 - 8 * 14.392) / 8 = 1.36875 -> 1.368.
    assert_eq!(r.mean, Some(d("14.392")));
    assert_eq!(r.mean_excess, Some(d("1.368")));
    // T0 = 15.760, V = 1.368 * 0.64 = 0.87552 -> 0.875, T = 14.885.
    assert_eq!(r.decrement, Some(d("0.875")));
    assert_eq!(r.threshold, Some(d("14.885")));
    assert_eq!(r.rounding.steps, p.steps_rounding);
}

#[test]
fn invalid_discounts_and_duplicate_ids_are_refused() {
    let mut b = bids(&["10", "11", "12", "13", "14"]).to_vec();
    b[2].discount = d("-1");
    let e = anomaly::compute(&AnomalyParams::new(Method::A), &b).unwrap_err();
    assert_eq!(e.to_string(), "bids[2].discount: -1 is outside [0, 100)");
    let mut b = bids(&["10", "11", "12", "13", "14"]).to_vec();
    b[4].id = "op-01".into();
    let e = anomaly::compute(&AnomalyParams::new(Method::A), &b).unwrap_err();
    assert_eq!(e.to_string(), "duplicate bid id 'op-01'");
}

/// The public `compute_sorted` (decimal sums) and `compute` (integer sums on a common scale)
/// agree, also with ribassi written at different scales.
#[test]
fn sorted_entry_point_agrees_with_compute() {
    let mut v: Vec<String> = MIT.iter().map(|s| s.to_string()).collect();
    v[4] = "11.6910".into();
    v[7] = "13.4710000".into();
    let refs: Vec<&str> = v.iter().map(String::as_str).collect();
    let b = bids(&refs);
    let order = anomaly::ascending_order(b);
    for p in [
        AnomalyParams::new(Method::A),
        AnomalyParams::new(Method::B),
        AnomalyParams::method_c(d("16")),
    ] {
        assert_eq!(
            anomaly::compute_sorted(&p, b, &order).unwrap(),
            anomaly::compute(&p, b).unwrap()
        );
    }
}
