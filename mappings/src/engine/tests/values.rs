//! Values: decode through the engine, change detection, deadband, heartbeat, bad readings.

use std::collections::BTreeMap;

use super::*;
use crate::engine::decode::{f32_to_registers, u32_to_registers};
use crate::engine::{Engine, Output, Published, Reason};

fn engine_with(values: Vec<ValuePoint>) -> Engine {
    Engine::new(&Plan {
        values,
        ..Plan::default()
    })
}

fn regs(r: [u16; 2]) -> Value {
    Value::Registers(r.to_vec())
}

#[test]
fn every_wire_type_publishes_through_the_engine() {
    let t = start();
    let orders = [
        ByteOrder::Abcd,
        ByteOrder::Cdab,
        ByteOrder::Badc,
        ByteOrder::Dcba,
    ];
    for order in orders {
        let mut engine = engine_with(vec![
            value("b", decode(WireType::Bool, order), ItemType::Boolean),
            value("u16", decode(WireType::U16, order), ItemType::Int),
            value("i16", decode(WireType::I16, order), ItemType::Int),
            value("u32", decode(WireType::U32, order), ItemType::Double),
            value("i32", decode(WireType::I32, order), ItemType::Int),
            value("f32", decode(WireType::F32, order), ItemType::Float),
        ]);
        let readings = [
            ("b", Value::Bool(true), "true"),
            ("u16", Value::U16(0x8000), "32768"),
            ("i16", Value::U16(0x8000), "-32768"),
            (
                "u32",
                regs(u32_to_registers(0xFFFF_FFFF, order)),
                "4294967295",
            ),
            (
                "i32",
                regs(u32_to_registers(0x8000_0000, order)),
                "-2147483648",
            ),
            ("f32", regs(f32_to_registers(123.456, order)), "123.456"),
        ];
        for (index, (point, raw, text)) in readings.into_iter().enumerate() {
            let out = engine.update(&reading(point, raw), t);
            assert_eq!(
                published(&out),
                vec![(index, text.to_string(), Reason::Initial)],
                "{point} {order:?}"
            );
        }
        assert_eq!(
            engine.value_state(5),
            Some(&Published {
                text: "123.456".to_string(),
                number: Some(f64::from(123.456f32)),
            })
        );
    }
}

#[test]
fn publishes_initial_then_changes_only() {
    let t = start();
    let mut engine = engine_with(vec![value(
        "v",
        decode(WireType::U16, ByteOrder::Abcd),
        ItemType::Int,
    )]);
    assert_eq!(engine.value_state(0), None);
    assert_eq!(
        published(&engine.update(&reading("v", Value::U16(7)), t)),
        vec![(0, "7".to_string(), Reason::Initial)]
    );
    assert!(
        engine
            .update(&reading("v", Value::U16(7)), t + ms(1))
            .is_empty()
    );
    assert_eq!(
        published(&engine.update(&reading("v", Value::U16(8)), t + ms(2))),
        vec![(0, "8".to_string(), Reason::Changed)]
    );
    assert_eq!(engine.value_state(0).map(|p| p.number), Some(Some(8.0)));
    assert_eq!(engine.value_state(1), None, "no such index");
    assert_eq!(engine.value_quality(0), Some(Quality::Good));
}

#[test]
fn scale_offset_and_deadband() {
    let t = start();
    let mut d = decode(WireType::I16, ByteOrder::Abcd);
    d.scale = 0.1;
    let mut v = value("temp", d, ItemType::Float);
    v.deadband = Some(0.5);
    let mut engine = engine_with(vec![v]);
    let mut step =
        |raw: i16| published(&engine.update(&reading("temp", Value::U16(raw as u16)), t));
    assert_eq!(step(215), vec![(0, "21.5".to_string(), Reason::Initial)]);
    assert!(step(218).is_empty(), "0.3 is inside the band");
    assert!(step(220).is_empty(), "0.5 is not more than the band");
    assert_eq!(step(221), vec![(0, "22.1".to_string(), Reason::Changed)]);
    assert!(
        step(217).is_empty(),
        "measured from the last published value"
    );
    assert_eq!(step(-5), vec![(0, "-0.5".to_string(), Reason::Changed)]);
}

#[test]
fn maps_publish_texts_and_numbers() {
    let t = start();
    let mut d = decode(WireType::U16, ByteOrder::Abcd);
    d.map = Some(BTreeMap::from([
        (0, "Disarmed".to_string()),
        (1, "Armed".to_string()),
        (2, "Armed".to_string()),
    ]));
    let mut engine = engine_with(vec![value("mode", d, ItemType::String)]);
    let mut step = |raw: u16| published(&engine.update(&reading("mode", Value::U16(raw)), t));
    assert_eq!(step(0), vec![(0, "Disarmed".to_string(), Reason::Initial)]);
    assert_eq!(step(1), vec![(0, "Armed".to_string(), Reason::Changed)]);
    assert!(step(2).is_empty(), "same text");
    assert_eq!(step(9), vec![(0, "9".to_string(), Reason::Changed)]);
}

#[test]
fn heartbeat_republishes_the_current_value_when_due() {
    let t = start();
    let mut d = decode(WireType::U16, ByteOrder::Abcd);
    d.scale = 0.1;
    let mut v = value("temp", d, ItemType::Double);
    v.deadband = Some(1.0);
    v.heartbeat = Some(ms(1000));
    let mut engine = engine_with(vec![v]);
    assert_eq!(engine.next_deadline(), None);
    engine.update(&reading("temp", Value::U16(200)), t);
    assert_eq!(engine.next_deadline(), Some(t + ms(1000)));
    assert!(
        engine
            .update(&reading("temp", Value::U16(205)), t + ms(500))
            .is_empty()
    );
    assert!(engine.tick(t + ms(999)).is_empty());
    let out = engine.tick(t + ms(1000));
    assert_eq!(
        published(&out),
        vec![(0, "20.5".to_string(), Reason::Heartbeat)]
    );
    assert_eq!(engine.next_deadline(), Some(t + ms(2000)));
    assert!(engine.tick(t + ms(1500)).is_empty());
    // The deadband now counts from the heartbeat's value.
    assert!(
        engine
            .update(&reading("temp", Value::U16(214)), t + ms(1600))
            .is_empty()
    );
    assert_eq!(
        published(&engine.update(&reading("temp", Value::U16(216)), t + ms(1700))),
        vec![(0, "21.6".to_string(), Reason::Changed)]
    );
    assert_eq!(
        engine.next_deadline(),
        Some(t + ms(2700)),
        "a change restarts the period"
    );
}

#[test]
fn heartbeat_due_at_a_reading_is_published_with_it() {
    let t = start();
    let mut v = value("v", decode(WireType::U16, ByteOrder::Abcd), ItemType::Int);
    v.heartbeat = Some(ms(100));
    let mut engine = engine_with(vec![v]);
    engine.update(&reading("v", Value::U16(1)), t);
    assert_eq!(
        published(&engine.update(&reading("v", Value::U16(1)), t + ms(150))),
        vec![(0, "1".to_string(), Reason::Heartbeat)]
    );
    assert!(engine.tick(t + ms(150)).is_empty());
}

#[test]
fn nan_and_unrepresentable_readings_are_rejected() {
    let t = start();
    let mut engine = engine_with(vec![
        value("f", decode(WireType::F32, ByteOrder::Abcd), ItemType::Float),
        value("n", decode(WireType::U32, ByteOrder::Abcd), ItemType::Int),
    ]);
    engine.update(
        &reading("f", regs(f32_to_registers(1.5, ByteOrder::Abcd))),
        t,
    );
    for bits in [0x7FC0_0000u32, 0x7F80_0000, 0xFF80_0000] {
        let out = engine.update(
            &reading("f", regs(u32_to_registers(bits, ByteOrder::Abcd))),
            t,
        );
        assert!(!out.iter().any(Output::is_state), "{bits:#x}: {out:?}");
    }
    assert_eq!(engine.rejected(), 3);
    assert_eq!(engine.value_quality(0), Some(Quality::Bad));
    assert_eq!(engine.value_state(0).map(|p| p.text.as_str()), Some("1.5"));
    assert_eq!(engine.failing_points("panel"), vec![id("f")]);
    // Good again with the same value: nothing new but the point's recovery.
    let out = engine.update(
        &reading("f", regs(f32_to_registers(1.5, ByteOrder::Abcd))),
        t,
    );
    assert!(!out.iter().any(Output::is_state), "{out:?}");
    assert!(engine.failing_points("panel").is_empty());
    assert_eq!(engine.value_quality(0), Some(Quality::Good));
    // 3e9 does not fit xs:int.
    let out = engine.update(&reading("n", regs([0xB2D0, 0x5E00])), t);
    assert!(!out.iter().any(Output::is_state), "{out:?}");
    assert_eq!(engine.rejected(), 4);
    assert_eq!(engine.value_state(1), None);
}

#[test]
fn one_point_feeds_an_input_and_a_value() {
    let t = start();
    let mut engine = Engine::new(&Plan {
        inputs: vec![input("in", "bit", false, ms(0), IdleState::Open)],
        values: vec![value(
            "bit",
            decode(WireType::Bool, ByteOrder::Abcd),
            ItemType::Boolean,
        )],
        ..Plan::default()
    });
    let out = engine.update(&reading("bit", Value::Bool(true)), t);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], input_out("in", true, true));
    assert!(
        matches!(&out[1], Output::Value { index: 0, reason: Reason::Initial, value } if value.text == "true")
    );
}
