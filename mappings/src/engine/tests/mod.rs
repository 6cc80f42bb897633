//! Engine behaviour: inputs, relays, values, links and robustness against any reading.

use std::time::{Duration, Instant, SystemTime};

use railgate_adapters::{PointId, PointUpdate, Quality, Value};

use crate::plan::{
    ByteOrder, Decode, EventSpec, IdleState, InputPoint, ItemType, Plan, RelayMode, RelayPoint,
    TopicName, ValuePoint, WireType,
};

mod carry;
mod health;
mod inputs;
mod links;
mod records;
mod relays;
mod robustness;
mod values;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn id(s: &str) -> PointId {
    PointId(s.to_string())
}

fn input(
    token: &str,
    point: &str,
    invert: bool,
    debounce: Duration,
    idle: IdleState,
) -> InputPoint {
    InputPoint {
        token: token.to_string(),
        controller: "panel".to_string(),
        point: id(point),
        invert,
        debounce,
        idle_state: idle,
    }
}

fn relay(token: &str, write: &str, read: &str, invert: bool, idle: IdleState) -> RelayPoint {
    RelayPoint {
        token: token.to_string(),
        controller: "panel".to_string(),
        write: id(write),
        read: id(read),
        invert,
        mode: RelayMode::Bistable,
        delay: Duration::ZERO,
        idle_state: idle,
    }
}

fn decode(wire: WireType, order: ByteOrder) -> Decode {
    Decode::raw(wire, order)
}

fn value(point: &str, decode: Decode, data_type: ItemType) -> ValuePoint {
    ValuePoint {
        name: point.to_string(),
        controller: "panel".to_string(),
        point: id(point),
        decode,
        deadband: None,
        heartbeat: None,
        event: EventSpec {
            topic: TopicName {
                namespace: "http://www.onvif.org/ver10/topics".to_string(),
                path: "Monitoring/Test".to_string(),
            },
            source: Vec::new(),
            key: Vec::new(),
            data_name: "Value".to_string(),
            data_type,
            property: true,
        },
    }
}

fn reading(point: &str, value: Value) -> PointUpdate {
    with_quality(point, value, Quality::Good)
}

fn with_quality(point: &str, value: Value, quality: Quality) -> PointUpdate {
    PointUpdate {
        id: id(point),
        value,
        quality,
        at: SystemTime::UNIX_EPOCH,
    }
}

fn plan_with_inputs(inputs: Vec<InputPoint>) -> Plan {
    Plan {
        inputs,
        ..Plan::default()
    }
}

fn input_out(token: &str, active: bool, initial: bool) -> crate::engine::Output {
    crate::engine::Output::Input {
        token: token.to_string(),
        active,
        initial,
    }
}

fn relay_out(token: &str, active: bool, initial: bool) -> crate::engine::Output {
    crate::engine::Output::Relay {
        token: token.to_string(),
        active,
        initial,
    }
}

/// The rendered texts and reasons of value outputs, in order.
fn published(outputs: &[crate::engine::Output]) -> Vec<(usize, String, crate::engine::Reason)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            crate::engine::Output::Value {
                index,
                value,
                reason,
            } => Some((*index, value.text.clone(), *reason)),
            _ => None,
        })
        .collect()
}

fn start() -> Instant {
    Instant::now()
}
