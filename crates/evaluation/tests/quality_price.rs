//! Quality-price (OEPV) scoring. Formulas: ANAC Linee guida n. 2 (§III riparametrazione, §IV
//! economic formulas, §VI.1 aggregative-compensatory method) and ANAC bando tipo n. 2/2026 §18.3
//! (concave on the mean). The figures were computed by hand (shown in the comments).

use evaluation::quality_price::{
    self, Coefficient, ConcaveBase, Criterion, EconomicFormula, QualityBid, QualityPriceParams,
    Riparametrazione, Sbarramento, SbarramentoStage, ScoreRounding,
};
use evaluation::rounding::{Rounding, RoundingMode};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn params(rip: Riparametrazione, formula: EconomicFormula) -> QualityPriceParams {
    QualityPriceParams {
        criteria: vec![
            Criterion {
                id: "c1".into(),
                weight: d("40"),
            },
            Criterion {
                id: "c2".into(),
                weight: d("30"),
            },
        ],
        riparametrazione: rip,
        sbarramento: None,
        economic_max: d("30"),
        formula,
        rounding: ScoreRounding::default(),
        seed: None,
    }
}

fn bid(id: &str, c1: &str, c2: &str, discount: &str) -> QualityBid {
    QualityBid {
        id: id.into(),
        coefficients: vec![Coefficient::Given(d(c1)), Coefficient::Given(d(c2))],
        discount: Some(d(discount)),
        price: None,
    }
}

/// op-1: 0.8/0.5/20%, op-2: 0.6/0.75/10%, op-3: 0.4/0.25/25%.
fn three() -> Vec<QualityBid> {
    vec![
        bid("op-1", "0.8", "0.5", "20"),
        bid("op-2", "0.6", "0.75", "10"),
        bid("op-3", "0.4", "0.25", "25"),
    ]
}

fn score<'a>(r: &'a quality_price::QualityPriceResult, id: &str) -> &'a quality_price::BidScore {
    r.bids.iter().find(|b| b.id == id).unwrap()
}

/// Raw: 40*0.8 + 30*0.5 = 47, 24 + 22.5 = 46.5, 16 + 7.5 = 23.5. Linear: 30*R/25 = 24, 12, 30.
#[test]
fn linear_without_riparametrazione() {
    let r = quality_price::evaluate(
        &params(Riparametrazione::None, EconomicFormula::Linear),
        &three(),
    )
    .unwrap();
    assert_eq!(score(&r, "op-1").technical, d("47"));
    assert_eq!(score(&r, "op-2").technical, d("46.5"));
    assert_eq!(score(&r, "op-3").economic, Some(d("30")));
    assert_eq!(score(&r, "op-1").total, Some(d("71")));
    assert_eq!(score(&r, "op-2").total, Some(d("58.5")));
    assert_eq!(score(&r, "op-3").total, Some(d("53.5")));
    assert_eq!(r.winner.as_deref(), Some("op-1"));
    assert_eq!(r.economic.max_discount, Some(d("25")));
    assert_eq!(r.technical_max, d("70"));
}

/// First riparametrazione: max c1 = 0.8, max c2 = 0.75. op-1: 40 + 30*0.5/0.75 = 60 (exact,
/// no 0.666... residue), op-2: 30 + 30 = 60, op-3: 20 + 10 = 30. Second: x 70/60 -> 70, 70, 35.
#[test]
fn first_and_second_riparametrazione() {
    let first = quality_price::evaluate(
        &params(Riparametrazione::First, EconomicFormula::Linear),
        &three(),
    )
    .unwrap();
    assert_eq!(score(&first, "op-1").technical, d("60"));
    assert_eq!(score(&first, "op-1").criteria[1].points, d("20"));
    assert_eq!(score(&first, "op-2").technical, d("60"));
    assert_eq!(score(&first, "op-3").technical, d("30"));
    assert_eq!(
        score(&first, "op-1").technical_raw,
        d("47"),
        "raw score kept for the record"
    );
    assert_eq!(score(&first, "op-1").total, Some(d("84")));
    let second = quality_price::evaluate(
        &params(Riparametrazione::FirstAndSecond, EconomicFormula::Linear),
        &three(),
    )
    .unwrap();
    assert_eq!(score(&second, "op-1").technical, d("70"));
    assert_eq!(score(&second, "op-2").technical, d("70"));
    assert_eq!(score(&second, "op-3").technical, d("35"));
    assert_eq!(score(&second, "op-1").technical_after_first, Some(d("60")));
    assert_eq!(
        second.ranking.iter().map(|l| l.total).collect::<Vec<_>>(),
        vec![d("94"), d("82"), d("65")]
    );
}

/// Soglia di sbarramento, min 40. op-3' (0.2, 1.0) has raw 8 + 30 = 38.
/// Before riparametrazione: op-3' is out; c2 max among the others is 0.75 -> op-1 60, op-2 60;
///   economic among op-1/op-2 (R_max 20): 30 and 15.
/// After the first: c2 max is op-3's 1.0 -> op-1 40 + 15 = 55, op-2 30 + 22.5 = 52.5,
///   op-3' 10 + 30 = 40 (equal to the minimum: admitted); economic R_max 25: 24, 12, 30.
#[test]
fn sbarramento_before_or_after_the_riparametrazione() {
    let bids = vec![
        bid("op-1", "0.8", "0.5", "20"),
        bid("op-2", "0.6", "0.75", "10"),
        bid("op-3", "0.2", "1", "25"),
    ];
    let mut p = params(Riparametrazione::First, EconomicFormula::Linear);
    p.sbarramento = Some(Sbarramento {
        min_points: d("40"),
        applied: SbarramentoStage::BeforeRiparametrazione,
    });
    let before = quality_price::evaluate(&p, &bids).unwrap();
    assert!(!score(&before, "op-3").admitted);
    assert_eq!(score(&before, "op-3").total, None);
    assert_eq!(score(&before, "op-1").technical, d("60"));
    assert_eq!(score(&before, "op-1").total, Some(d("90")));
    assert_eq!(score(&before, "op-2").total, Some(d("75")));
    assert_eq!(before.ranking.len(), 2);

    p.sbarramento = Some(Sbarramento {
        min_points: d("40"),
        applied: SbarramentoStage::AfterFirst,
    });
    let after = quality_price::evaluate(&p, &bids).unwrap();
    assert!(score(&after, "op-3").admitted);
    assert_eq!(score(&after, "op-1").total, Some(d("79")));
    assert_eq!(score(&after, "op-2").total, Some(d("64.5")));
    assert_eq!(score(&after, "op-3").total, Some(d("70")));
    assert_eq!(after.winner.as_deref(), Some("op-1"));
}

/// Bilinear, X = 0.90 (LG n. 2 §IV). R = 20, 10, 25; R_mean = 55/3.
/// R=10 <= mean: 0.9*10/(55/3) = 27/55; points 30*27/55 = 14.7272... (14.727 at 3 decimals)
/// R=20 > mean: 0.9 + 0.1*(20 - 55/3)/(25 - 55/3) = 0.925 -> 27.75; R=25 -> 1 -> 30.
#[test]
fn bilinear_with_x_090() {
    let mut p = params(
        Riparametrazione::None,
        EconomicFormula::Bilinear { x: d("0.90") },
    );
    let r = quality_price::evaluate(&p, &three()).unwrap();
    assert_eq!(score(&r, "op-1").economic_coefficient, Some(d("0.925")));
    assert_eq!(score(&r, "op-1").economic, Some(d("27.75")));
    assert_eq!(score(&r, "op-3").economic, Some(d("30")));
    assert!(
        score(&r, "op-2")
            .economic
            .unwrap()
            .to_string()
            .starts_with("14.72727272")
    );
    p.rounding.scores = Some(Rounding::new(3, RoundingMode::HalfUp));
    let r = quality_price::evaluate(&p, &three()).unwrap();
    assert_eq!(score(&r, "op-2").economic, Some(d("14.727")));
    assert_eq!(score(&r, "op-2").total, Some(d("61.227")));
}

/// LG n. 2: with all discounts equal, R_max = R_mean and everybody gets X.
#[test]
fn bilinear_with_equal_discounts_gives_x_to_everybody() {
    let bids = vec![bid("a", "1", "1", "12"), bid("b", "0.5", "0.5", "12")];
    let r = quality_price::evaluate(
        &params(
            Riparametrazione::None,
            EconomicFormula::Bilinear { x: d("0.85") },
        ),
        &bids,
    )
    .unwrap();
    assert!(
        r.bids
            .iter()
            .all(|b| b.economic_coefficient == Some(d("0.85")))
    );
}

/// Concave on the max, alpha 0.5: (16/25)^0.5 = 0.8, (9/25)^0.5 = 0.6 -> 24, 30, 18.
#[test]
fn concave_on_the_max() {
    let bids = vec![
        bid("a", "1", "1", "16"),
        bid("b", "1", "1", "25"),
        bid("c", "1", "1", "9"),
    ];
    let f = EconomicFormula::Concave {
        alpha: d("0.5"),
        base: ConcaveBase::Max,
    };
    let r = quality_price::evaluate(&params(Riparametrazione::None, f), &bids).unwrap();
    assert_eq!(score(&r, "a").economic, Some(d("24")));
    assert_eq!(score(&r, "b").economic, Some(d("30")));
    assert_eq!(score(&r, "c").economic, Some(d("18")));
}

/// Concave on the mean, alpha 0.3 (ANAC bando tipo 2/2026 §18.3): R = 10, 20, 30, mean 20.
/// 0.5^0.3 = 0.81225239635623...: 0.8122523964 at the default 10 decimals; R >= mean -> 1.
#[test]
fn concave_on_the_mean_is_capped_at_one() {
    let bids = vec![
        bid("a", "1", "1", "10"),
        bid("b", "1", "1", "20"),
        bid("c", "1", "1", "30"),
    ];
    let f = EconomicFormula::Concave {
        alpha: d("0.3"),
        base: ConcaveBase::Mean,
    };
    let mut p = params(Riparametrazione::None, f);
    let r = quality_price::evaluate(&p, &bids).unwrap();
    assert_eq!(score(&r, "a").economic_coefficient, Some(d("0.8122523964")));
    assert_eq!(score(&r, "b").economic_coefficient, Some(d("1")));
    assert_eq!(score(&r, "c").economic_coefficient, Some(d("1")));
    assert_eq!(score(&r, "c").economic, Some(d("30")));
    assert_eq!(r.winner, None, "b and c tie at 100 points");
    assert_eq!(r.tie, vec!["b".to_string(), "c".to_string()]);
    p.rounding.power = Rounding::new(4, RoundingMode::Truncate);
    let r = quality_price::evaluate(&p, &bids).unwrap();
    assert_eq!(score(&r, "a").economic_coefficient, Some(d("0.8122")));
}

/// Inverse proportionality on prices: 30 * P_min / P.
#[test]
fn inverse_price() {
    let mut bids = three();
    for (b, p) in bids.iter_mut().zip(["80000", "90000", "100000"]) {
        b.discount = None;
        b.price = Some(d(p));
    }
    let r = quality_price::evaluate(
        &params(Riparametrazione::None, EconomicFormula::InversePrice),
        &bids,
    )
    .unwrap();
    assert_eq!(score(&r, "op-1").economic, Some(d("30")));
    assert_eq!(score(&r, "op-3").economic, Some(d("24")));
    assert!(
        score(&r, "op-2")
            .economic
            .unwrap()
            .to_string()
            .starts_with("26.6666666")
    );
    assert_eq!(r.economic.price_basis.as_deref(), Some("price"));
    // Discounts only: prices are proportional to 100 - R, so the same ratios come out.
    let mut bids = three();
    bids[0].discount = Some(d("20"));
    bids[1].discount = Some(d("10"));
    bids[2].discount = Some(d("0"));
    let r = quality_price::evaluate(
        &params(Riparametrazione::None, EconomicFormula::InversePrice),
        &bids,
    )
    .unwrap();
    assert_eq!(score(&r, "op-3").economic, Some(d("24")));
    assert_eq!(r.economic.price_basis.as_deref(), Some("100 - discount"));
}

/// Coefficient = mean of the commissioners' coefficients (LG n. 2 §V); optional rounding.
/// (0.8 + 0.7 + 0.7) / 3 -> 40 * 2.2 / 3 = 29.333...; at 2 decimals 0.73 -> 29.2.
#[test]
fn commissioners_mean_and_coefficient_rounding() {
    let mut bids = three();
    bids[0].coefficients[0] = Coefficient::Commissioners(vec![d("0.8"), d("0.7"), d("0.7")]);
    let mut p = params(Riparametrazione::None, EconomicFormula::Linear);
    let r = quality_price::evaluate(&p, &bids).unwrap();
    assert!(
        score(&r, "op-1").criteria[0]
            .points
            .to_string()
            .starts_with("29.33333333")
    );
    assert_eq!(
        score(&r, "op-1").criteria[0].commissioners,
        vec!["0.8", "0.7", "0.7"]
    );
    p.rounding.coefficients = Some(Rounding::new(2, RoundingMode::HalfUp));
    let r = quality_price::evaluate(&p, &bids).unwrap();
    assert_eq!(score(&r, "op-1").criteria[0].coefficient, d("0.73"));
    assert_eq!(score(&r, "op-1").criteria[0].points, d("29.2"));
}

#[test]
fn refusals_name_the_field() {
    let mut bids = three();
    bids[1].coefficients[1] = Coefficient::Given(d("1.2"));
    let e = quality_price::evaluate(
        &params(Riparametrazione::None, EconomicFormula::Linear),
        &bids,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "bids[1].coefficients.c2: 1.2 is outside [0, 1]"
    );
    let e = quality_price::evaluate(
        &params(
            Riparametrazione::None,
            EconomicFormula::Bilinear { x: d("1.5") },
        ),
        &three(),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("economic.formula.x:"));
    let mut p = params(Riparametrazione::None, EconomicFormula::Linear);
    p.sbarramento = Some(Sbarramento {
        min_points: d("10"),
        applied: SbarramentoStage::AfterFirst,
    });
    let e = quality_price::evaluate(&p, &three()).unwrap_err();
    assert!(e.to_string().starts_with("technical.sbarramento.applied:"));
    let mut bids = three();
    bids[2].id = "op-1".into();
    assert!(
        quality_price::evaluate(
            &params(Riparametrazione::None, EconomicFormula::Linear),
            &bids
        )
        .is_err()
    );
}

/// A tie on the total is reported, and resolved only with a seed.
#[test]
fn tie_on_total_and_seeded_draw() {
    let bids = vec![bid("x", "1", "0", "10"), bid("y", "0.25", "1", "10")];
    // x: 40 + 0 + 30 = 70; y: 10 + 30 + 30 = 70.
    let mut p = params(Riparametrazione::None, EconomicFormula::Linear);
    let r = quality_price::evaluate(&p, &bids).unwrap();
    assert_eq!(r.tie, vec!["x".to_string(), "y".to_string()]);
    assert_eq!(r.winner, None);
    p.seed = Some(99);
    let r = quality_price::evaluate(&p, &bids).unwrap();
    assert!(r.tie.is_empty());
    assert_eq!(
        r.winner.as_deref(),
        Some(r.draw.as_ref().unwrap().order[0].as_str())
    );
}
