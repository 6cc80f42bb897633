//! Records: every good occurrence publishes, with the fields its point names; bad ones are
//! rejected and counted.

use std::collections::BTreeMap;

use super::*;
use crate::engine::{Engine, Output};
use crate::plan::{RecordEvent, RecordItem, RecordPoint};

fn card_reader() -> RecordPoint {
    let item = |name: &str, ty, field: &str| RecordItem {
        name: name.into(),
        ty,
        field: field.into(),
    };
    RecordPoint {
        name: "Reader1".into(),
        controller: "panel".into(),
        point: id("reader1/card"),
        event: RecordEvent {
            topic: TopicName {
                namespace: "urn:railgate:topics".into(),
                path: "AccessControl/CardRead".into(),
            },
            source: vec![],
            key: vec![],
            data: vec![
                item("FacilityCode", ItemType::Int, "facility"),
                item("CardNumber", ItemType::Int, "number"),
                item("Format", ItemType::String, "format"),
            ],
        },
    }
}

fn record(fields: &[(&str, &str)]) -> Value {
    Value::Record(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn engine() -> Engine {
    Engine::new(&Plan {
        records: vec![card_reader()],
        ..Plan::default()
    })
}

#[test]
fn every_good_occurrence_publishes_its_items_in_the_points_order() {
    let mut e = engine();
    let card = record(&[
        ("number", "4567"),
        ("facility", "123"),
        ("format", "h10301"),
        ("bits", "ignored"),
    ]);
    let expected = Output::Record {
        index: 0,
        items: vec![
            ("FacilityCode".into(), "123".into()),
            ("CardNumber".into(), "4567".into()),
            ("Format".into(), "h10301".into()),
        ],
    };
    // The same card twice is two reads.
    for _ in 0..2 {
        assert_eq!(
            e.update(&reading("reader1/card", card.clone()), start()),
            vec![expected.clone()]
        );
    }
    assert_eq!(e.rejected(), 0);
    // Stale or bad occurrences publish nothing and are not rejections.
    for q in [Quality::Stale, Quality::Bad] {
        let out = e.update(&with_quality("reader1/card", card.clone(), q), start());
        assert!(!out.iter().any(|o| matches!(o, Output::Record { .. })));
    }
    assert_eq!(e.rejected(), 0);
}

#[test]
fn a_missing_field_a_bad_lexical_form_or_another_shape_is_rejected() {
    let mut e = engine();
    let bad = [
        record(&[("number", "4567"), ("format", "h10301")]),
        record(&[("number", "4567"), ("facility", "x"), ("format", "h10301")]),
        Value::Bytes(vec![1, 2, 3]),
        Value::Bool(true),
    ];
    for (n, value) in bad.into_iter().enumerate() {
        let out = e.update(&reading("reader1/card", value), start());
        assert!(
            !out.iter().any(|o| matches!(o, Output::Record { .. })),
            "{n}"
        );
        assert_eq!(e.rejected(), n as u64 + 1);
    }
}
