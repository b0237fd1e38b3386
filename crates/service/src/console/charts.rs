//! Charts drawn on the server as inline SVG (no chart library, no script): a lot's bids on a discount
//! axis with the anomaly threshold, and horizontal bars for the Province's year. Each SVG has a title and
//! a description for screen readers; the numbers are also in a table beside it.

use rust_decimal::Decimal;
use serde_json::Value;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn f(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// A lot's evaluated bids on the discount axis: kept bids in blue, excluded (anomalous) bids in red with
/// a cross, the anomaly threshold as a dashed line. `None` before the evaluation. `lot` is the API's lot
/// view (its `evaluation` is the stored `{input, result}`).
pub fn discounts(lot: &Value) -> Option<String> {
    let ev = lot.get("evaluation")?;
    let bids = ev.pointer("/input/bids")?.as_array()?;
    let result = ev.get("result")?;
    let excluded: Vec<&str> = result
        .pointer("/anomaly/excluded")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let threshold = result.pointer("/anomaly/threshold").and_then(dec);
    let winner = result.get("winner").and_then(Value::as_str);
    let points: Vec<(String, Decimal)> = bids
        .iter()
        .filter_map(|b| Some((b.get("id")?.as_str()?.to_owned(), dec(b.get("discount")?)?)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let max = points
        .iter()
        .map(|p| p.1)
        .chain(threshold)
        .max()
        .unwrap_or(Decimal::ONE);
    let top = (f(max) * 1.1).max(1.0).ceil();
    let (w, h, left, right) = (640.0, 120.0, 30.0, 20.0);
    let x = |d: f64| left + (w - left - right) * d / top;
    let mut svg = String::new();
    let desc = format!(
        "{} offerte; soglia di anomalia {}; escluse {}",
        points.len(),
        threshold.map_or("non applicata".to_owned(), |t| format!("{t}%")),
        excluded.len()
    );
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="c-{n}-t c-{n}-d" xmlns="http://www.w3.org/2000/svg"><title id="c-{n}-t">Ribassi offerti, lotto {n}</title><desc id="c-{n}-d">{desc}</desc>"#,
        n = lot.get("number").and_then(Value::as_i64).unwrap_or(0),
        desc = esc(&desc)
    );
    let axis_y = 80.0;
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#333"/>"##,
        w - right
    );
    let steps = 5;
    for i in 0..=steps {
        let v = top * i as f64 / steps as f64;
        let _ = write!(
            svg,
            r##"<line x1="{0}" y1="{axis_y}" x2="{0}" y2="{1}" stroke="#333"/><text x="{0}" y="{2}" font-size="11" text-anchor="middle" fill="#222">{3}%</text>"##,
            x(v),
            axis_y + 5.0,
            axis_y + 18.0,
            (v * 100.0).round() / 100.0
        );
    }
    if let Some(t) = threshold {
        let _ = write!(
            svg,
            r##"<line x1="{0}" y1="15" x2="{0}" y2="{axis_y}" stroke="#b00020" stroke-dasharray="4 3"/><text x="{0}" y="12" font-size="11" text-anchor="middle" fill="#b00020">soglia {1}%</text>"##,
            x(f(t)),
            t.round_dp(3)
        );
    }
    for (i, (id, d)) in points.iter().enumerate() {
        let cx = x(f(*d));
        let cy = axis_y - 14.0 - (i % 4) as f64 * 12.0;
        let out = excluded.contains(&id.as_str());
        let label = format!(
            "offerta {}: ribasso {d}%{}{}",
            &id[id.len().saturating_sub(8)..],
            if out { ", esclusa" } else { "" },
            if Some(id.as_str()) == winner {
                ", prima in graduatoria"
            } else {
                ""
            }
        );
        if out {
            let _ = write!(
                svg,
                r##"<g><title>{l}</title><line x1="{a}" y1="{b}" x2="{c}" y2="{e}" stroke="#b00020" stroke-width="2"/><line x1="{a}" y1="{e}" x2="{c}" y2="{b}" stroke="#b00020" stroke-width="2"/></g>"##,
                l = esc(&label),
                a = cx - 5.0,
                b = cy - 5.0,
                c = cx + 5.0,
                e = cy + 5.0
            );
        } else {
            let fill = if Some(id.as_str()) == winner {
                "#0b6e2e"
            } else {
                "#1f4e9c"
            };
            let _ = write!(
                svg,
                r##"<circle cx="{cx}" cy="{cy}" r="5" fill="{fill}"><title>{}</title></circle>"##,
                esc(&label)
            );
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Horizontal bars: one per `(label, value)`, scaled to the largest; `unit` formats the value.
pub fn bars(title: &str, rows: &[(String, f64, String)]) -> String {
    let (w, row_h, label_w) = (640.0, 24.0, 220.0);
    let h = 10.0 + row_h * rows.len().max(1) as f64;
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    for (i, (label, v, shown)) in rows.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let bw = (w - label_w - 120.0) * v / max;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#222">{}</text><rect x="{label_w}" y="{y}" width="{bw:.1}" height="{}" fill="#1f4e9c"/><text x="{}" y="{}" font-size="12" fill="#222">{}</text>"##,
            label_w - 6.0,
            y + 15.0,
            esc(label),
            row_h - 6.0,
            label_w + bw + 6.0,
            y + 15.0,
            esc(shown)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_discount_chart_marks_the_threshold_and_the_excluded_bids() {
        let lot = json!({"number": 1, "evaluation": {
            "input": {"bids": [{"id": "1-aaaaaaaa", "discount": "10.5"}, {"id": "2-bbbbbbbb", "discount": "30"}]},
            "result": {"winner": "1-aaaaaaaa", "anomaly": {"threshold": "20.125", "excluded": ["2-bbbbbbbb"]}}
        }});
        let svg = discounts(&lot).unwrap();
        assert!(svg.contains("soglia 20.125%"), "{svg}");
        assert!(
            svg.contains("offerta bbbbbbbb: ribasso 30%, esclusa"),
            "{svg}"
        );
        assert!(svg.contains("prima in graduatoria"));
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(discounts(&json!({"number": 1, "evaluation": null})).is_none());
    }

    #[test]
    fn bars_escape_their_labels() {
        let svg = bars("t", &[("Comune <A>".into(), 2.0, "2".into())]);
        assert!(svg.contains("Comune &lt;A&gt;"));
    }
}
