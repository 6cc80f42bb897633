//! Relays: invert/idle logic both ways, settings, read-back, unknown tokens.

use super::*;
use crate::engine::{Engine, RelayWrite};

/// (wire, invert, idle) → logical state, all eight combinations.
const TABLE: [(bool, bool, IdleState, bool); 8] = [
    (false, false, IdleState::Open, false),
    (true, false, IdleState::Open, true),
    (false, true, IdleState::Open, true),
    (true, true, IdleState::Open, false),
    (false, false, IdleState::Closed, true),
    (true, false, IdleState::Closed, false),
    (false, true, IdleState::Closed, false),
    (true, true, IdleState::Closed, true),
];

fn one(invert: bool, idle: IdleState) -> Engine {
    Engine::new(&Plan {
        relays: vec![relay("r", "coil", "fb", invert, idle)],
        ..Plan::default()
    })
}

#[test]
fn observed_state_all_eight_combinations() {
    let t = start();
    for (wire, invert, idle, active) in TABLE {
        let mut engine = one(invert, idle);
        assert_eq!(engine.relay_state("r").and_then(|s| s.active), None);
        assert!(
            engine
                .update(&reading("coil", Value::Bool(wire)), t)
                .is_empty(),
            "the write point is not read back here"
        );
        let out = engine.update(&reading("fb", Value::Bool(wire)), t);
        assert_eq!(
            out,
            vec![relay_out("r", active, true)],
            "{wire} {invert} {idle:?}"
        );
        let state = engine.relay_state("r").expect("known");
        assert_eq!(state.active, Some(active));
        assert_eq!(state.energised, Some(wire != invert));
    }
}

#[test]
fn write_value_all_eight_combinations() {
    for (wire, invert, idle, active) in TABLE {
        let engine = one(invert, idle);
        assert_eq!(
            engine.relay_write("r", active),
            Some(RelayWrite {
                controller: "panel".to_string(),
                point: id("coil"),
                value: wire,
            }),
            "{active} {invert} {idle:?}"
        );
    }
}

#[test]
fn written_value_reads_back_as_requested() {
    let t = start();
    let mut engine = Engine::new(&Plan {
        relays: vec![relay("r", "coil", "coil", true, IdleState::Closed)],
        ..Plan::default()
    });
    for active in [true, false, true] {
        let write = engine.relay_write("r", active).expect("known");
        engine.update(&reading("coil", Value::Bool(write.value)), t);
        assert_eq!(engine.relay_state("r").and_then(|s| s.active), Some(active));
    }
}

#[test]
fn settings_change_flips_state_and_write_value() {
    let t = start();
    let mut engine = one(false, IdleState::Open);
    engine.update(&reading("fb", Value::Bool(false)), t);
    assert_eq!(engine.relay_write("r", true).map(|w| w.value), Some(true));
    let out = engine.set_relay_settings("r", RelayMode::Monostable, ms(1500), IdleState::Closed, t);
    assert_eq!(out, Some(vec![relay_out("r", true, false)]));
    let state = engine.relay_state("r").expect("known");
    assert_eq!(state.mode, RelayMode::Monostable);
    assert_eq!(state.delay, ms(1500));
    assert_eq!(state.idle_state, IdleState::Closed);
    assert_eq!(state.active, Some(true));
    assert_eq!(engine.relay_write("r", true).map(|w| w.value), Some(false));
    assert_eq!(
        engine.set_relay_settings("r", RelayMode::Bistable, ms(0), IdleState::Closed, t),
        Some(Vec::new()),
        "mode and delay alone change no state"
    );
    assert_eq!(
        engine.relay_state("r").map(|s| s.mode),
        Some(RelayMode::Bistable)
    );
}

#[test]
fn publishes_read_back_changes_only() {
    let t = start();
    let mut engine = one(false, IdleState::Open);
    engine.update(&reading("fb", Value::Bool(false)), t);
    assert!(
        engine
            .update(&reading("fb", Value::Bool(false)), t)
            .is_empty()
    );
    assert_eq!(
        engine.update(&reading("fb", Value::Bool(true)), t),
        vec![relay_out("r", true, false)]
    );
}

#[test]
fn unknown_relay_tokens() {
    let t = start();
    let mut engine = one(false, IdleState::Open);
    assert_eq!(engine.relay_state("x"), None);
    assert_eq!(engine.relay_write("x", true), None);
    assert_eq!(
        engine.set_relay_settings("x", RelayMode::Bistable, ms(0), IdleState::Open, t),
        None
    );
    assert_eq!(engine.input_state("r"), None, "relays are not inputs");
}
