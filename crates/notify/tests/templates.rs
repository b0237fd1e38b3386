//! Every template renders in Italian with the facts it must name; snapshots pin the exact wording.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use notify::{MailTemplate, Templates};
use support::contexts;

fn templates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/templates/mail")
}

fn templates() -> Templates {
    let mut globals = BTreeMap::new();
    globals.insert(
        "organization".to_owned(),
        "Provincia di Esempio - Stazione Unica Appaltante".to_owned(),
    );
    Templates::load(&templates_dir(), &globals).expect("templates load")
}

#[test]
fn every_template_renders_its_full_context_snapshot() {
    let t = templates();
    for template in MailTemplate::ALL {
        let r = t
            .render(*template, &contexts::full(*template))
            .unwrap_or_else(|e| panic!("{}: {e}", template.name()));
        let combined = format!(
            "SUBJECT: {}\n----- text -----\n{}----- html -----\n{}",
            r.subject, r.text, r.html
        );
        insta::assert_snapshot!(template.name(), combined);
    }
}

#[test]
fn award_to_the_awardee_and_without_standstill_is_worded_accordingly() {
    let t = templates();
    let mut ctx = contexts::full(MailTemplate::Award);
    ctx["is_awardee"] = serde_json::json!(true);
    ctx.as_object_mut().unwrap().remove("standstill_end");
    ctx["standstill_not_applicable"] =
        serde_json::json!("contratto di importo inferiore alle soglie europee (art. 55, comma 2)");
    let r = t.render(MailTemplate::Award, &ctx).unwrap();
    insta::assert_snapshot!("award_to_awardee_no_standstill", r.text);
    assert!(r.text.contains("lettera b)"));
    assert!(
        r.text
            .contains("a codesto operatore economico (Costruzioni Alfa S.p.A.)")
    );
    assert!(
        r.text
            .contains("non si applica: contratto di importo inferiore")
    );
    assert!(!r.text.contains("scade il"));
}

#[test]
fn every_template_names_the_facts_the_law_requires() {
    let t = templates();
    for template in MailTemplate::ALL {
        let ctx = contexts::full(*template);
        let r = t.render(*template, &ctx).unwrap();
        for part in [&r.text, &r.html] {
            let name = template.name();
            if let Some(title) = ctx.get("tender_title") {
                // The HTML escapes quotes and ampersands.
                let expected = if part == &r.html {
                    "SP 12 &quot;Valle&quot; &amp; ponti"
                } else {
                    title.as_str().unwrap()
                };
                assert!(part.contains(expected), "{name}: tender title");
                assert!(part.contains("SUA-2026-017"), "{name}: tender ref");
                assert!(part.contains("B1234567AB"), "{name}: CIG");
                assert!(part.contains("Lotto"), "{name}: lot");
            } else if let Some(category) = ctx.get("category") {
                // a register listing: the register, the category and the expiry date
                assert!(
                    part.contains(category.as_str().unwrap()),
                    "{name}: category"
                );
                assert!(part.contains("31/01/2027"), "{name}: expiry date");
                assert!(part.contains("rinnov"), "{name}: how to renew");
            } else {
                assert!(part.contains("R-2026-045"), "{name}: request ref");
            }
            if template.required_keys().contains(&"act_number") {
                let act = format!("n. {}", ctx["act_number"].as_str().unwrap());
                assert!(part.contains(&act), "{name}: act number");
                let date = ctx["act_date"].as_str().unwrap();
                let it = format!("{}/{}/{}", &date[8..10], &date[5..7], &date[0..4]);
                assert!(part.contains(&it), "{name}: act date");
            }
            assert!(part.contains("gare.provincia.example.it"), "{name}: link");
            assert!(
                part.contains("Provincia di Esempio"),
                "{name}: organization"
            );
        }
        assert!(!r.subject.contains('\n'));
        assert!(r.html.starts_with("<!DOCTYPE html>"));
    }
}

#[test]
fn every_template_renders_with_only_its_required_keys() {
    let t = templates();
    for template in MailTemplate::ALL {
        t.render(*template, &contexts::minimal(*template))
            .unwrap_or_else(|e| panic!("{}: {e}", template.name()));
    }
}

#[test]
fn a_missing_variable_is_an_error_naming_the_template_not_an_empty_string() {
    let t = templates();
    let mut ctx = contexts::full(MailTemplate::Exclusion);
    ctx.as_object_mut().unwrap().remove("reasons");
    let err = t
        .render(MailTemplate::Exclusion, &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.contains("exclusion."), "{err}");
    assert!(err.contains("undefined"), "{err}");
}

#[test]
fn a_bad_date_in_the_context_is_an_error_naming_the_filter_and_value() {
    let t = templates();
    let mut ctx = contexts::full(MailTemplate::DeadlineReminder);
    ctx["deadline"] = serde_json::json!("domani");
    let err = t
        .render(MailTemplate::DeadlineReminder, &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.contains("data_ora") && err.contains("domani"), "{err}");
}

#[test]
fn loading_refuses_a_directory_missing_a_template_file() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(templates_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "award.html" {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let err = Templates::load(dir.path(), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("award.html"), "{err}");
}

#[test]
fn loading_refuses_a_template_with_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(templates_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("admission.txt"), "{% if %}").unwrap();
    let err = Templates::load(dir.path(), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("admission.txt"), "{err}");
}

#[test]
fn dates_are_italian_wall_clock_across_daylight_saving() {
    use notify::templates::{filter_data, filter_data_ora};
    // Winter: UTC+1.
    assert_eq!(
        filter_data_ora("2026-12-22T11:00:00Z".into()).unwrap(),
        "22/12/2026 alle ore 12:00"
    );
    // Summer: UTC+2.
    assert_eq!(
        filter_data_ora("2027-07-01T10:00:00Z".into()).unwrap(),
        "01/07/2027 alle ore 12:00"
    );
    // 23:30 UTC on 31 Dec is already 1 Jan in Rome.
    assert_eq!(
        filter_data("2026-12-31T23:30:00Z".into()).unwrap(),
        "01/01/2027"
    );
    assert_eq!(filter_data("2027-03-08".into()).unwrap(), "08/03/2027");
    assert!(filter_data("08/03/2027".into()).is_err());
    assert!(filter_data_ora("2027-03-08".into()).is_err());
}

#[test]
fn amounts_are_formatted_in_euro_with_italian_separators() {
    use notify::templates::filter_euro;
    assert_eq!(filter_euro("1234567.8".into()).unwrap(), "€ 1.234.567,80");
    assert_eq!(filter_euro("999.995".into()).unwrap(), "€ 1.000,00");
    assert_eq!(filter_euro("0.1".into()).unwrap(), "€ 0,10");
    assert_eq!(filter_euro("100".into()).unwrap(), "€ 100,00");
    assert_eq!(filter_euro("-1500.5".into()).unwrap(), "€ -1.500,50");
    assert!(filter_euro("1.234,5".into()).is_err());
    assert!(filter_euro("1e3".into()).is_err());
}

#[test]
fn the_documentation_lists_every_template_and_its_required_keys() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/notifications.md"),
    )
    .expect("docs/notifications.md");
    for template in MailTemplate::ALL {
        let row = doc
            .lines()
            .find(|l| l.contains(&format!("| `{}` |", template.name())))
            .unwrap_or_else(|| panic!("docs/notifications.md has no row for {}", template.name()));
        for key in template.required_keys() {
            if ["recipient_name", "link"].contains(key) {
                continue;
            }
            assert!(
                row.contains(&format!("`{key}`")),
                "{}: `{key}` not documented",
                template.name()
            );
        }
        for group in template.required_one_of() {
            for key in *group {
                assert!(
                    row.contains(&format!("`{key}`")),
                    "{}: `{key}`",
                    template.name()
                );
            }
        }
    }
}

#[test]
fn every_municipality_update_event_has_its_own_wording() {
    let t = templates();
    let mut subjects = std::collections::BTreeSet::new();
    for event in notify::templates::MUNICIPALITY_EVENTS {
        let mut ctx = contexts::full(MailTemplate::MunicipalityUpdate);
        ctx["event"] = serde_json::json!(event);
        ctx.as_object_mut().unwrap().remove("standstill_end");
        let r = t.render(MailTemplate::MunicipalityUpdate, &ctx).unwrap();
        assert!(r.text.contains("Comune di Borgo Alto"));
        subjects.insert(r.subject);
    }
    assert_eq!(subjects.len(), notify::templates::MUNICIPALITY_EVENTS.len());
    insta::assert_snapshot!(
        "municipality_update_subjects",
        subjects.into_iter().collect::<Vec<_>>().join("\n")
    );
    let mut ctx = contexts::full(MailTemplate::MunicipalityUpdate);
    ctx["event"] = serde_json::json!("party");
    assert!(t.render(MailTemplate::MunicipalityUpdate, &ctx).is_err());
}

#[test]
fn the_deadline_reminder_says_how_the_operator_started_and_names_lot_cig_and_deadline_with_time() {
    let t = templates();
    let mut ctx = contexts::full(MailTemplate::DeadlineReminder);
    let r = t.render(MailTemplate::DeadlineReminder, &ctx).unwrap();
    for part in [&r.text, &r.html] {
        assert!(part.contains("ha ritirato l'offerta"), "{part}");
        assert!(
            part.contains("Lotto") && part.contains("B1234567AB"),
            "{part}"
        );
        // 11:00 UTC in December is 12:00 in Rome
        assert!(part.contains("22/12/2026 alle ore 12:00"), "{part}");
    }
    ctx["started"] = serde_json::json!("clarification");
    ctx["lots"] = serde_json::json!([
        {"number": 1, "title": "Strade", "cig": "B7654321CD"},
        {"number": 2, "title": "Ponti"},
    ]);
    let r = t.render(MailTemplate::DeadlineReminder, &ctx).unwrap();
    for part in [&r.text, &r.html] {
        assert!(part.contains("ha richiesto chiarimenti"), "{part}");
        assert!(part.contains("Lotto 1: Strade (CIG B7654321CD)"), "{part}");
        assert!(part.contains("Lotto 2: Ponti"), "{part}");
    }
    ctx.as_object_mut().unwrap().remove("started");
    let r = t.render(MailTemplate::DeadlineReminder, &ctx).unwrap();
    assert!(
        r.text.contains("ha avviato la partecipazione"),
        "{}",
        r.text
    );
}
