//! Failing points: exception answers and undecodable readings, per controller.

use super::*;
use crate::engine::{Engine, Output};
use crate::plan::{Controller, Link};

fn failing(controller: &str, points: &[&str]) -> Output {
    Output::FailingPoints {
        controller: controller.to_string(),
        points: points.iter().map(|p| id(p)).collect(),
    }
}

fn site() -> Engine {
    let mut other = input("other", "q", false, ms(0), IdleState::Open);
    other.controller = "second".to_string();
    Engine::new(&Plan {
        inputs: vec![input("in", "p", false, ms(0), IdleState::Open), other],
        values: vec![
            value("v", decode(WireType::U16, ByteOrder::Abcd), ItemType::Int),
            value("w", decode(WireType::U32, ByteOrder::Abcd), ItemType::Int),
        ],
        ..Plan::default()
    })
}

fn health(out: &[Output]) -> Vec<Output> {
    out.iter().filter(|o| !o.is_state()).cloned().collect()
}

#[test]
fn initial_lists_every_controller_with_nothing_failing() {
    let mut plan = plan_with_inputs(vec![input("in", "p", false, ms(0), IdleState::Open)]);
    let transport = railgate_adapters::modbus::Transport::Tcp {
        host: "127.0.0.1".to_string(),
        port: 1502,
    };
    let config = railgate_adapters::modbus::ModbusConfig::new("idle", transport, 1);
    plan.controllers = vec![Controller {
        name: "idle".to_string(),
        link: Link::Modbus(config),
    }];
    let engine = Engine::new(&plan);
    assert_eq!(
        engine.initial(),
        vec![failing("idle", &[]), failing("panel", &[])],
        "the plan's controllers first, then those only points name"
    );
}

#[test]
fn bad_readings_and_undecodable_ones_fail_a_point_until_a_good_reading() {
    let t = start();
    let mut engine = site();
    assert!(health(&engine.update(&reading("v", Value::U16(1)), t)).is_empty());
    let bad = with_quality("v", Value::U16(1), Quality::Bad);
    assert_eq!(engine.update(&bad, t), vec![failing("panel", &["v"])]);
    assert!(engine.update(&bad, t).is_empty(), "no change, no output");
    // A reading of the wrong shape for a 32-bit value is a failing read too.
    let wrong = reading("w", Value::U16(7));
    assert_eq!(
        engine.update(&wrong, t),
        vec![failing("panel", &["v", "w"])]
    );
    // Another controller's points are its own.
    let q = with_quality("q", Value::Bool(true), Quality::Bad);
    assert_eq!(engine.update(&q, t), vec![failing("second", &["q"])]);
    assert_eq!(engine.failing_points("panel"), vec![id("v"), id("w")]);
    // Stale (the link is down) says nothing of the point.
    engine.link("panel", false, t);
    let stale = with_quality("v", Value::U16(1), Quality::Stale);
    assert!(engine.update(&stale, t).is_empty());
    assert_eq!(engine.failing_points("panel"), vec![id("v"), id("w")]);
    // A good reading ends it; the value itself is unchanged, so only the set is reported.
    assert_eq!(
        engine.update(&reading("v", Value::U16(1)), t),
        vec![failing("panel", &["w"])]
    );
    let out = engine.update(&reading("w", Value::Registers(vec![0, 7])), t);
    assert_eq!(health(&out), vec![failing("panel", &[])]);
    assert_eq!(
        out.len(),
        2,
        "the value's first reading, then the set: {out:?}"
    );
    assert!(engine.failing_points("panel").is_empty());
    assert!(engine.failing_points("nobody").is_empty());
}

#[test]
fn readings_of_unknown_points_are_nobodys_health() {
    let t = start();
    let mut engine = site();
    let bad = with_quality("unused", Value::U16(1), Quality::Bad);
    assert!(engine.update(&bad, t).is_empty());
}
