//! Random readings, times, links and settings: no panic, mismatched shapes publish nothing,
//! and `next_deadline` always moves forward after a `tick`.

use std::collections::BTreeMap;

use super::*;
use crate::engine::Engine;
use crate::plan::BitField;

/// SplitMix64: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const WIRES: [WireType; 6] = [
    WireType::Bool,
    WireType::U16,
    WireType::I16,
    WireType::U32,
    WireType::I32,
    WireType::F32,
];
const ORDERS: [ByteOrder; 4] = [
    ByteOrder::Abcd,
    ByteOrder::Cdab,
    ByteOrder::Badc,
    ByteOrder::Dcba,
];
const TYPES: [ItemType; 5] = [
    ItemType::Boolean,
    ItemType::Int,
    ItemType::Float,
    ItemType::Double,
    ItemType::String,
];

/// A plan with inputs and relays on `bit*` points and one value per wire type, order and data
/// type on its own point, some with bit fields, maps, deadbands and heartbeats.
fn random_plan(rng: &mut Rng) -> Plan {
    let idle = [IdleState::Open, IdleState::Closed];
    let inputs = (0..4)
        .map(|i| {
            input(
                &format!("in{i}"),
                &format!("bit{i}"),
                rng.below(2) == 1,
                ms(rng.below(3) * 50),
                *rng.pick(&idle),
            )
        })
        .collect();
    let relays = (0..3)
        .map(|i| {
            relay(
                &format!("r{i}"),
                &format!("bit{}", i + 4),
                &format!("bit{}", rng.below(7)),
                rng.below(2) == 1,
                *rng.pick(&idle),
            )
        })
        .collect();
    let mut values = Vec::new();
    for wire in WIRES {
        for order in ORDERS {
            for ty in TYPES {
                let mut d = decode(wire, order);
                d.scale = *rng.pick(&[1.0, 0.1, -2.5, 1e30]);
                d.offset = *rng.pick(&[0.0, -40.0]);
                if rng.below(4) == 0 {
                    d.bits = Some(BitField {
                        shift: rng.below(40) as u8,
                        width: rng.below(40) as u8,
                    });
                }
                if rng.below(4) == 0 {
                    d.map = Some(BTreeMap::from([
                        (0, "Off".to_string()),
                        (1, "1".to_string()),
                    ]));
                }
                let mut v = value(&format!("v{}", values.len()), d, ty);
                v.deadband = *rng.pick(&[None, Some(0.0), Some(0.5), Some(-1.0)]);
                v.heartbeat = *rng.pick(&[
                    None,
                    Some(Duration::ZERO),
                    Some(ms(100)),
                    Some(Duration::MAX),
                ]);
                values.push((wire, v));
            }
        }
    }
    Plan {
        inputs,
        relays,
        values: values.iter().map(|(_, v)| v.clone()).collect(),
        ..Plan::default()
    }
}

fn random_value(rng: &mut Rng) -> Value {
    let special = [0u16, 1, 0x7FC0, 0x7F80, 0x8000, 0xFFFF];
    let reg = |rng: &mut Rng| {
        if rng.below(3) == 0 {
            *rng.pick(&special)
        } else {
            rng.next() as u16
        }
    };
    match rng.below(5) {
        0 => Value::Bool(rng.below(2) == 1),
        1 => Value::U16(reg(rng)),
        2 => {
            let len = *rng.pick(&[0usize, 1, 2, 2, 2, 3, 4]);
            Value::Registers((0..len).map(|_| reg(rng)).collect())
        }
        _ => Value::Bytes((0..rng.below(5)).map(|_| rng.next() as u8).collect()),
    }
}

/// Whether `value` has the shape a point of wire type `wire` reads as.
fn fits(value: &Value, wire: WireType) -> bool {
    match (wire, value) {
        (WireType::Bool, Value::Bool(_)) => true,
        (WireType::U16 | WireType::I16, Value::U16(_)) => true,
        (WireType::U16 | WireType::I16, Value::Registers(r)) => r.len() == 1,
        (WireType::U32 | WireType::I32 | WireType::F32, Value::Registers(r)) => r.len() == 2,
        _ => false,
    }
}

#[test]
fn random_operations_never_panic_and_mismatched_shapes_publish_nothing() {
    let (mut states, mut values) = (0usize, 0usize);
    for seed in 0..20u64 {
        let mut rng = Rng(seed);
        let plan = random_plan(&mut rng);
        let mut engine = Engine::new(&plan);
        let mut ids: Vec<String> = plan.values.iter().map(|v| v.point.0.clone()).collect();
        ids.extend((0..8).map(|i| format!("bit{i}")));
        ids.push("unknown".to_string());
        let bit_points: Vec<String> = plan
            .inputs
            .iter()
            .map(|i| i.point.0.clone())
            .chain(plan.relays.iter().map(|r| r.read.0.clone()))
            .collect();
        let mut now = start();
        for _ in 0..3000 {
            now += ms(rng.below(120));
            match rng.below(20) {
                0 => {
                    let up = rng.below(2) == 1;
                    let controller = if rng.below(2) == 1 { "panel" } else { "nope" };
                    assert!(engine.link(controller, up, now).is_empty());
                }
                1 => {
                    let idle = *rng.pick(&[IdleState::Open, IdleState::Closed]);
                    let token = rng.pick(&["in0", "in3", "r1", "x"]);
                    let out = engine.set_input_idle_state(token, idle, now);
                    assert_eq!(out.is_some(), token.starts_with("in"));
                    assert!(out.unwrap_or_default().len() <= 1);
                }
                2 => {
                    let idle = *rng.pick(&[IdleState::Open, IdleState::Closed]);
                    let token = rng.pick(&["r0", "r2", "in1", "x"]);
                    let out =
                        engine.set_relay_settings(token, RelayMode::Monostable, ms(5), idle, now);
                    assert_eq!(out.is_some(), token.starts_with('r'));
                    let write = engine.relay_write(token, rng.below(2) == 1);
                    assert_eq!(write.is_some(), token.starts_with('r'));
                }
                3 => {
                    let before = engine.next_deadline();
                    engine.tick(now);
                    if let Some(next) = engine.next_deadline() {
                        assert!(
                            next > now,
                            "tick at {now:?} left deadline {next:?} ({before:?})"
                        );
                    }
                }
                _ => {
                    let point = rng.pick(&ids).clone();
                    let value = random_value(&mut rng);
                    let quality = *rng.pick(&[
                        Quality::Good,
                        Quality::Good,
                        Quality::Good,
                        Quality::Bad,
                        Quality::Stale,
                    ]);
                    let before_values: Vec<_> = (0..plan.values.len())
                        .map(|i| engine.value_state(i).cloned())
                        .collect();
                    let rejected = engine.rejected();
                    let out = engine.update(&with_quality(&point, value.clone(), quality), now);
                    let wires: Vec<WireType> = plan
                        .values
                        .iter()
                        .filter(|v| v.point.0 == point)
                        .map(|v| v.decode.wire)
                        .chain(bit_points.contains(&point).then_some(WireType::Bool))
                        .collect();
                    let any_fit = wires.iter().any(|w| fits(&value, *w));
                    if !any_fit || quality != Quality::Good {
                        assert!(
                            !out.iter().any(crate::engine::Output::is_state),
                            "{point} {value:?} {quality:?} → {out:?}"
                        );
                        let after: Vec<_> = (0..plan.values.len())
                            .map(|i| engine.value_state(i).cloned())
                            .collect();
                        assert_eq!(before_values, after);
                    }
                    if quality == Quality::Good && !any_fit && !wires.is_empty() {
                        assert!(engine.rejected() > rejected, "{point} {value:?}");
                    }
                    for output in &out {
                        states += 1;
                        if let crate::engine::Output::Value { value, .. } = output {
                            values += 1;
                            let text = value.text.to_ascii_lowercase();
                            assert!(!text.contains("nan") && !text.contains("inf"), "{text}");
                            if let Some(n) = value.number {
                                assert!(n.is_finite());
                            }
                        }
                    }
                }
            }
        }
    }
    // The run is not vacuous: good readings of fitting shapes did publish.
    assert!(values > 1000, "{values} values published");
    assert!(states > values, "{states} outputs in all");
}

#[test]
fn mismatched_shapes_for_each_kind_publish_nothing() {
    let t = start();
    let mut engine = Engine::new(&Plan {
        inputs: vec![input("in", "bit", false, ms(0), IdleState::Open)],
        relays: vec![relay("r", "coil", "coil", false, IdleState::Open)],
        values: vec![
            value("u32", decode(WireType::U32, ByteOrder::Abcd), ItemType::Int),
            value(
                "f32",
                decode(WireType::F32, ByteOrder::Cdab),
                ItemType::Float,
            ),
            value("u16", decode(WireType::U16, ByteOrder::Abcd), ItemType::Int),
        ],
        ..Plan::default()
    });
    let wrong = [
        ("bit", Value::U16(1)),
        ("bit", Value::Registers(vec![1])),
        ("coil", Value::U16(1)),
        ("u32", Value::Bool(true)),
        ("u32", Value::Registers(vec![1])),
        ("u32", Value::U16(1)),
        ("f32", Value::Registers(vec![1, 2, 3])),
        ("f32", Value::Bytes(vec![0; 4])),
        ("u16", Value::Registers(vec![1, 2])),
        ("u16", Value::Bool(false)),
    ];
    for (point, value) in &wrong {
        let out = engine.update(&reading(point, value.clone()), t);
        assert!(
            !out.iter().any(crate::engine::Output::is_state),
            "{point} {value:?}: {out:?}"
        );
    }
    assert_eq!(engine.rejected(), wrong.len() as u64);
    assert_eq!(
        engine.input_state("in").and_then(|s| s.quality),
        Some(Quality::Bad)
    );
    assert_eq!(engine.input_state("in").and_then(|s| s.active), None);
    assert_eq!(
        engine.relay_state("r").and_then(|s| s.quality),
        Some(Quality::Bad)
    );
    assert_eq!(engine.value_quality(0), Some(Quality::Bad));
    assert_eq!(engine.value_state(0), None);
}
