//! A reload's new engine takes over the running one's state (`Engine::carry_over`).

use super::*;
use crate::engine::{Engine, Output};

#[test]
fn unchanged_points_keep_their_state_and_changed_inputs_replay_their_last_reading() {
    let t = start();
    let old_plan = Plan {
        inputs: vec![
            input("door", "p1", false, ms(0), IdleState::Open),
            input("window", "p2", false, ms(0), IdleState::Open),
        ],
        values: vec![value(
            "temp",
            decode(WireType::U16, ByteOrder::Abcd),
            ItemType::Int,
        )],
        ..Plan::default()
    };
    let mut old = Engine::new(&old_plan);
    old.update(&reading("p1", Value::Bool(true)), t);
    old.update(&reading("p2", Value::Bool(true)), t);
    old.update(&reading("temp", Value::U16(21)), t);

    // The window is inverted now, the door stays, a gate is new; the value moved to index 1.
    let new_plan = Plan {
        inputs: vec![
            input("door", "p1", false, ms(0), IdleState::Open),
            input("window", "p2", true, ms(0), IdleState::Open),
            input("gate", "p3", false, ms(0), IdleState::Open),
        ],
        values: vec![
            value(
                "humidity",
                decode(WireType::U16, ByteOrder::Abcd),
                ItemType::Int,
            ),
            value(
                "temp",
                decode(WireType::U16, ByteOrder::Abcd),
                ItemType::Int,
            ),
        ],
        ..Plan::default()
    };
    let mut new = Engine::new(&new_plan);
    let (moved, out) = new.carry_over(&new_plan, &old, &old_plan, t, |_| true);

    assert_eq!(new.input_state("door").and_then(|s| s.active), Some(true));
    assert_eq!(new.input_state("gate").and_then(|s| s.active), None);
    // Replayed through its new definition: the same contact now means inactive.
    assert_eq!(
        new.input_state("window").and_then(|s| s.active),
        Some(false)
    );
    assert_eq!(out, vec![input_out("window", false, true)]);
    assert_eq!(moved.values.get(&0), Some(&1));
    assert!(
        new.value_state(1).is_some(),
        "the kept value keeps what it published"
    );
    assert!(new.value_state(0).is_none());
    // The raw reading is kept too.
    assert_eq!(
        new.reading(&id("p1")).and_then(|r| r.value.clone()),
        Some(Value::Bool(true))
    );
    // An unchanged reading publishes nothing: the state really was taken over.
    assert!(new.update(&reading("p1", Value::Bool(true)), t).is_empty());
}

#[test]
fn failing_points_still_read_are_kept_and_dropped_ones_leave_the_set() {
    let t = start();
    let old_plan = plan_with_inputs(vec![
        input("a", "pa", false, ms(0), IdleState::Open),
        input("b", "pb", false, ms(0), IdleState::Open),
    ]);
    let mut old = Engine::new(&old_plan);
    old.update(&with_quality("pa", Value::Bool(false), Quality::Bad), t);
    old.update(&with_quality("pb", Value::Bool(false), Quality::Bad), t);
    assert_eq!(old.failing_points("panel"), vec![id("pa"), id("pb")]);

    let new_plan = plan_with_inputs(vec![input("a", "pa", false, ms(0), IdleState::Open)]);
    let mut new = Engine::new(&new_plan);
    new.carry_over(&new_plan, &old, &old_plan, t, |_| true);
    assert_eq!(new.failing_points("panel"), vec![id("pa")]);
    assert_eq!(
        new.failing_now(),
        vec![Output::FailingPoints {
            controller: "panel".into(),
            points: vec![id("pa")],
        }]
    );
}

#[test]
fn a_restarted_link_replays_nothing_from_its_old_device() {
    let t = start();
    let old_plan = plan_with_inputs(vec![input("door", "p1", false, ms(0), IdleState::Open)]);
    let mut old = Engine::new(&old_plan);
    old.update(&reading("p1", Value::Bool(true)), t);
    let new_plan = plan_with_inputs(vec![input("door", "p1", true, ms(0), IdleState::Open)]);
    let mut new = Engine::new(&new_plan);
    let (_, out) = new.carry_over(&new_plan, &old, &old_plan, t, |c| c != "panel");
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(new.input_state("door").and_then(|s| s.active), None);
    assert_eq!(new.reading(&id("p1")).and_then(|r| r.value.clone()), None);
}
