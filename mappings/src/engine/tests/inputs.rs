//! Digital inputs: invert/idle logic, debounce, idle-state changes, unknown tokens.

use super::*;
use crate::engine::{Engine, Output};

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

#[test]
fn logic_table_all_eight_combinations() {
    let t = start();
    for (wire, invert, idle, active) in TABLE {
        let mut engine = Engine::new(&plan_with_inputs(vec![input(
            "in",
            "p",
            invert,
            ms(0),
            idle,
        )]));
        assert_eq!(engine.input_state("in").and_then(|s| s.active), None);
        let out = engine.update(&reading("p", Value::Bool(wire)), t);
        assert_eq!(
            out,
            vec![input_out("in", active, true)],
            "{wire} {invert} {idle:?}"
        );
        let state = engine.input_state("in").expect("known token");
        assert_eq!(state.active, Some(active));
        assert_eq!(state.closed, Some(wire != invert));
        assert_eq!(state.quality, Some(Quality::Good));
        assert_eq!((state.idle_state, state.invert), (idle, invert));
    }
}

#[test]
fn publishes_changes_only() {
    let t = start();
    let mut engine = Engine::new(&plan_with_inputs(vec![input(
        "in",
        "p",
        false,
        ms(0),
        IdleState::Open,
    )]));
    assert_eq!(engine.update(&reading("p", Value::Bool(false)), t).len(), 1);
    assert!(
        engine
            .update(&reading("p", Value::Bool(false)), t + ms(1))
            .is_empty()
    );
    assert_eq!(
        engine.update(&reading("p", Value::Bool(true)), t + ms(2)),
        vec![input_out("in", true, false)]
    );
    assert_eq!(
        engine.update(&reading("p", Value::Bool(false)), t + ms(3)),
        vec![input_out("in", false, false)]
    );
    assert_eq!(
        engine.next_deadline(),
        None,
        "zero debounce schedules nothing"
    );
}

fn debounced() -> Engine {
    Engine::new(&plan_with_inputs(vec![input(
        "door",
        "p",
        false,
        ms(100),
        IdleState::Open,
    )]))
}

#[test]
fn first_reading_is_not_debounced() {
    let t = start();
    let mut engine = debounced();
    assert_eq!(
        engine.update(&reading("p", Value::Bool(true)), t),
        vec![input_out("door", true, true)]
    );
}

#[test]
fn bounce_shorter_than_debounce_publishes_nothing() {
    let t = start();
    let mut engine = debounced();
    engine.update(&reading("p", Value::Bool(false)), t);
    assert!(
        engine
            .update(&reading("p", Value::Bool(true)), t + ms(10))
            .is_empty()
    );
    assert_eq!(engine.next_deadline(), Some(t + ms(110)));
    assert!(
        engine
            .update(&reading("p", Value::Bool(false)), t + ms(60))
            .is_empty()
    );
    assert_eq!(engine.next_deadline(), None, "the flip back cancelled it");
    assert!(engine.tick(t + ms(500)).is_empty());
    assert_eq!(
        engine.input_state("door").and_then(|s| s.active),
        Some(false)
    );
}

#[test]
fn stable_change_publishes_once_when_the_period_ends() {
    let t = start();
    let mut engine = debounced();
    engine.update(&reading("p", Value::Bool(false)), t);
    assert!(
        engine
            .update(&reading("p", Value::Bool(true)), t + ms(10))
            .is_empty()
    );
    assert!(
        engine
            .update(&reading("p", Value::Bool(true)), t + ms(60))
            .is_empty()
    );
    assert_eq!(
        engine.next_deadline(),
        Some(t + ms(110)),
        "since the first sighting"
    );
    assert!(engine.tick(t + ms(109)).is_empty());
    assert_eq!(
        engine.input_state("door").and_then(|s| s.active),
        Some(false)
    );
    assert_eq!(
        engine.tick(t + ms(110)),
        vec![input_out("door", true, false)]
    );
    assert_eq!(engine.next_deadline(), None);
    assert!(engine.tick(t + ms(300)).is_empty(), "exactly one event");
    assert!(
        engine
            .update(&reading("p", Value::Bool(true)), t + ms(310))
            .is_empty()
    );
    assert_eq!(
        engine.input_state("door").and_then(|s| s.active),
        Some(true)
    );
}

#[test]
fn stable_change_counts_at_a_later_reading() {
    let t = start();
    let mut engine = debounced();
    engine.update(&reading("p", Value::Bool(false)), t);
    engine.update(&reading("p", Value::Bool(true)), t + ms(10));
    assert_eq!(
        engine.update(&reading("p", Value::Bool(true)), t + ms(150)),
        vec![input_out("door", true, false)]
    );
    assert!(engine.tick(t + ms(200)).is_empty());
}

#[test]
fn bad_reading_interrupts_a_pending_change() {
    let t = start();
    let mut engine = debounced();
    engine.update(&reading("p", Value::Bool(false)), t);
    engine.update(&reading("p", Value::Bool(true)), t + ms(10));
    let bad = with_quality("p", Value::Bool(true), Quality::Bad);
    assert!(!engine.update(&bad, t + ms(20)).iter().any(Output::is_state));
    assert_eq!(engine.next_deadline(), None);
    assert!(engine.tick(t + ms(200)).is_empty());
    assert_eq!(
        engine.input_state("door").and_then(|s| s.quality),
        Some(Quality::Bad)
    );
    // The period starts again with the next good sighting.
    assert!(
        !engine
            .update(&reading("p", Value::Bool(true)), t + ms(210))
            .iter()
            .any(Output::is_state)
    );
    assert_eq!(
        engine.tick(t + ms(310)),
        vec![input_out("door", true, false)]
    );
}

#[test]
fn idle_state_change_flips_the_logical_state() {
    let t = start();
    let mut engine = Engine::new(&plan_with_inputs(vec![input(
        "in",
        "p",
        false,
        ms(0),
        IdleState::Open,
    )]));
    engine.update(&reading("p", Value::Bool(true)), t);
    assert_eq!(
        engine.set_input_idle_state("in", IdleState::Closed, t),
        Some(vec![input_out("in", false, false)])
    );
    let state = engine.input_state("in").expect("known");
    assert_eq!((state.active, state.closed), (Some(false), Some(true)));
    assert_eq!(state.idle_state, IdleState::Closed);
    assert_eq!(
        engine.set_input_idle_state("in", IdleState::Closed, t),
        Some(Vec::new()),
        "same idle state: no change"
    );
    assert_eq!(
        engine.set_input_idle_state("in", IdleState::Open, t),
        Some(vec![input_out("in", true, false)])
    );
}

#[test]
fn idle_state_change_before_any_reading_applies_to_the_first() {
    let t = start();
    let mut engine = Engine::new(&plan_with_inputs(vec![input(
        "in",
        "p",
        false,
        ms(0),
        IdleState::Open,
    )]));
    assert_eq!(
        engine.set_input_idle_state("in", IdleState::Closed, t),
        Some(Vec::new())
    );
    assert_eq!(
        engine.update(&reading("p", Value::Bool(false)), t),
        vec![input_out("in", true, true)]
    );
}

#[test]
fn unknown_tokens_and_points() {
    let t = start();
    let mut engine = debounced();
    assert_eq!(engine.input_state("nope"), None);
    assert_eq!(
        engine.set_input_idle_state("nope", IdleState::Closed, t),
        None
    );
    assert!(
        engine
            .update(&reading("other", Value::Bool(true)), t)
            .is_empty()
    );
    assert_eq!(engine.input_state("door").and_then(|s| s.active), None);
    assert_eq!(engine.relay_state("door"), None, "inputs are not relays");
}
