//! Quality: bad and stale readings, links going down and coming back.

use super::*;
use crate::engine::{Engine, Output, Reason};

fn site() -> Engine {
    let mut other = input("other", "q", false, ms(0), IdleState::Open);
    other.controller = "second".to_string();
    let mut temp = value("v", decode(WireType::U16, ByteOrder::Abcd), ItemType::Int);
    temp.heartbeat = Some(ms(1000));
    Engine::new(&Plan {
        inputs: vec![input("in", "p", false, ms(100), IdleState::Open), other],
        relays: vec![relay("r", "c", "c", false, IdleState::Open)],
        values: vec![temp],
        ..Plan::default()
    })
}

fn all_good(engine: &mut Engine, t: Instant) {
    engine.update(&reading("p", Value::Bool(false)), t);
    engine.update(&reading("q", Value::Bool(false)), t);
    engine.update(&reading("c", Value::Bool(false)), t);
    engine.update(&reading("v", Value::U16(5)), t);
}

#[test]
fn link_down_marks_its_points_stale_and_publishes_nothing() {
    let t = start();
    let mut engine = site();
    all_good(&mut engine, t);
    assert!(engine.link("panel", false, t).is_empty());
    let input = engine.input_state("in").expect("known");
    assert_eq!(
        (input.quality, input.active),
        (Some(Quality::Stale), Some(false))
    );
    assert_eq!(
        engine.relay_state("r").and_then(|s| s.quality),
        Some(Quality::Stale)
    );
    assert_eq!(engine.value_quality(0), Some(Quality::Stale));
    assert_eq!(engine.value_state(0).map(|p| p.text.as_str()), Some("5"));
    assert_eq!(
        engine.input_state("other").and_then(|s| s.quality),
        Some(Quality::Good),
        "another controller's points are untouched"
    );
    assert_eq!(
        engine.next_deadline(),
        None,
        "no heartbeat for a stale value"
    );
    assert!(engine.tick(t + ms(5000)).is_empty());
    assert!(engine.link("panel", true, t).is_empty());
    assert_eq!(
        engine.input_state("in").and_then(|s| s.quality),
        Some(Quality::Stale),
        "stale until the next good reading"
    );
}

#[test]
fn same_values_after_an_outage_publish_nothing() {
    let t = start();
    let mut engine = site();
    all_good(&mut engine, t);
    engine.link("panel", false, t + ms(10));
    engine.link("panel", true, t + ms(500));
    let t2 = t + ms(510);
    assert!(
        engine
            .update(&reading("p", Value::Bool(false)), t2)
            .is_empty()
    );
    assert!(
        engine
            .update(&reading("c", Value::Bool(false)), t2)
            .is_empty()
    );
    assert!(engine.update(&reading("v", Value::U16(5)), t2).is_empty());
    assert_eq!(
        engine.input_state("in").and_then(|s| s.quality),
        Some(Quality::Good)
    );
    assert_eq!(engine.value_quality(0), Some(Quality::Good));
}

#[test]
fn different_values_after_an_outage_publish_changes() {
    let t = start();
    let mut engine = site();
    all_good(&mut engine, t);
    engine.link("panel", false, t + ms(10));
    engine.link("panel", true, t + ms(500));
    let t2 = t + ms(510);
    assert_eq!(
        engine.update(&reading("c", Value::Bool(true)), t2),
        vec![relay_out("r", true, false)]
    );
    assert_eq!(
        published(&engine.update(&reading("v", Value::U16(6)), t2)),
        vec![(0, "6".to_string(), Reason::Changed)]
    );
    // The input is debounced as usual.
    assert!(
        engine
            .update(&reading("p", Value::Bool(true)), t2)
            .is_empty()
    );
    assert_eq!(
        engine.tick(t2 + ms(100)),
        vec![input_out("in", true, false)]
    );
}

#[test]
fn link_down_cancels_a_pending_debounce() {
    let t = start();
    let mut engine = site();
    all_good(&mut engine, t);
    engine.update(&reading("p", Value::Bool(true)), t + ms(10));
    assert_eq!(engine.next_deadline(), Some(t + ms(110)));
    engine.link("panel", false, t + ms(20));
    assert!(engine.tick(t + ms(200)).is_empty());
    assert_eq!(engine.input_state("in").and_then(|s| s.active), Some(false));
}

#[test]
fn bad_and_stale_readings_change_no_state() {
    let t = start();
    let mut engine = site();
    all_good(&mut engine, t);
    for quality in [Quality::Bad, Quality::Stale] {
        let updates = [
            with_quality("p", Value::Bool(true), quality),
            with_quality("c", Value::Bool(true), quality),
            with_quality("v", Value::U16(99), quality),
        ];
        for update in &updates {
            let out = engine.update(update, t + ms(200));
            assert!(!out.iter().any(Output::is_state), "{update:?}: {out:?}");
        }
        assert!(engine.tick(t + ms(300)).is_empty());
        assert_eq!(
            engine.input_state("in").and_then(|s| s.quality),
            Some(quality)
        );
        assert_eq!(
            engine.relay_state("r").and_then(|s| s.quality),
            Some(quality)
        );
        assert_eq!(engine.value_quality(0), Some(quality));
        assert_eq!(engine.relay_state("r").and_then(|s| s.active), Some(false));
        assert_eq!(engine.value_state(0).map(|p| p.text.as_str()), Some("5"));
    }
    assert_eq!(
        engine.rejected(),
        0,
        "untrusted readings are not rejections"
    );
}

#[test]
fn nothing_before_the_first_reading() {
    let t = start();
    let mut engine = site();
    assert_eq!(engine.input_state("in").and_then(|s| s.quality), None);
    assert!(engine.link("panel", false, t).is_empty());
    let state = engine.input_state("in").expect("known");
    assert_eq!((state.active, state.quality), (None, Some(Quality::Stale)));
    assert_eq!(
        engine.update(&reading("p", Value::Bool(true)), t),
        vec![input_out("in", true, true)],
        "the first good reading is still the initial state"
    );
}

#[test]
fn readings_keep_the_raw_value_and_go_stale_with_their_link() {
    let t = start();
    let mut engine = site();
    let unknown = engine.reading(&PointId("v".into())).expect("planned");
    assert_eq!((unknown.value.clone(), unknown.quality), (None, None));
    assert!(engine.reading(&PointId("nowhere".into())).is_none());
    all_good(&mut engine, t);
    engine.update(&reading("v", Value::U16(7)), t);
    let v = engine.reading(&PointId("v".into())).expect("planned");
    assert_eq!(
        (v.controller.as_str(), v.value.clone(), v.quality),
        ("panel", Some(Value::U16(7)), Some(Quality::Good))
    );
    engine.link("panel", false, t);
    assert_eq!(
        engine.reading(&PointId("v".into())).and_then(|r| r.quality),
        Some(Quality::Stale)
    );
    assert_eq!(
        engine.reading(&PointId("q".into())).and_then(|r| r.quality),
        Some(Quality::Good),
        "another controller's readings are untouched"
    );
    assert_eq!(
        engine
            .reading(&PointId("v".into()))
            .and_then(|r| r.value.clone()),
        Some(Value::U16(7)),
        "the last value stays"
    );
}
