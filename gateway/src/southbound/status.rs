//! What the person commissioning a site reads: every mapped point with its published value, its
//! raw reading and quality, and every controller link with its state and last error. Built by
//! the core with each [`Views`](super::messages::Views) snapshot; read by the status page
//! (`http/status.rs`) and `railgate points`. For people only: nothing decides on it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use railgate_adapters::{PointId, Quality, Value};
use railgate_mappings::engine::Engine;
use railgate_mappings::plan::Plan;
use serde::{Deserialize, Serialize};

/// One mapped point (a digital input, a relay, a value or a record), in mapping order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointStatus {
    /// `input`, `relay`, `value` or `record`.
    pub kind: String,
    /// The ONVIF token (inputs, relays) or the mapping name (values, records).
    pub name: String,
    /// The controller it is read from.
    pub controller: String,
    /// The point the adapter reports.
    pub point: String,
    /// What clients see: `active`/`inactive` for inputs and relays, the published text of a
    /// value; empty before the first good reading and for records.
    pub value: String,
    /// The raw reading as the adapter reported it (empty before the first).
    pub raw: String,
    /// `good`, `stale` or `bad` (empty before the first reading).
    pub quality: String,
    /// When it was last read (RFC 3339, UTC; empty before the first reading).
    pub read_at: String,
}

/// One controller link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The controller's name in the mapping.
    pub controller: String,
    /// Whether the link is up.
    pub up: bool,
    /// Why it last went down (empty if it never did).
    pub last_error: String,
}

/// The links and the points, taken together by the core.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Every controller link, in mapping order.
    pub links: Vec<LinkStatus>,
    /// Every mapped point, in mapping order.
    pub points: Vec<PointStatus>,
}

/// Every link, in mapping order.
pub(super) fn links(
    plan: &Plan,
    up: &HashMap<String, bool>,
    last_error: &HashMap<String, String>,
) -> Vec<LinkStatus> {
    plan.controllers
        .iter()
        .map(|c| LinkStatus {
            controller: c.name.clone(),
            up: up.get(&c.name).copied().unwrap_or(false),
            last_error: last_error.get(&c.name).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Every mapped point, in mapping order: inputs, relays, values, records.
pub(super) fn points(plan: &Plan, engine: &Engine) -> Vec<PointStatus> {
    let active = |a: Option<bool>| match a {
        Some(true) => "active".to_string(),
        Some(false) => "inactive".to_string(),
        None => String::new(),
    };
    let mut out = Vec::new();
    for i in &plan.inputs {
        let value = active(engine.input_state(&i.token).and_then(|s| s.active));
        out.push(point(
            engine,
            "input",
            &i.token,
            &i.controller,
            &i.point,
            value,
        ));
    }
    for r in &plan.relays {
        let value = active(engine.relay_state(&r.token).and_then(|s| s.active));
        out.push(point(
            engine,
            "relay",
            &r.token,
            &r.controller,
            &r.read,
            value,
        ));
    }
    for (index, v) in plan.values.iter().enumerate() {
        let value = engine
            .value_state(index)
            .map(|p| p.text.clone())
            .unwrap_or_default();
        out.push(point(
            engine,
            "value",
            &v.name,
            &v.controller,
            &v.point,
            value,
        ));
    }
    for r in &plan.records {
        out.push(point(
            engine,
            "record",
            &r.name,
            &r.controller,
            &r.point,
            String::new(),
        ));
    }
    out
}

fn point(
    engine: &Engine,
    kind: &str,
    name: &str,
    controller: &str,
    id: &PointId,
    value: String,
) -> PointStatus {
    let reading = engine.reading(id);
    PointStatus {
        kind: kind.to_string(),
        name: name.to_string(),
        controller: controller.to_string(),
        point: id.0.clone(),
        value,
        raw: reading
            .and_then(|r| r.value.as_ref())
            .map(raw_text)
            .unwrap_or_default(),
        quality: reading
            .and_then(|r| r.quality)
            .map(quality_text)
            .unwrap_or_default()
            .to_string(),
        read_at: reading.and_then(|r| r.at).map(rfc3339).unwrap_or_default(),
    }
}

fn quality_text(q: Quality) -> &'static str {
    match q {
        Quality::Good => "good",
        Quality::Stale => "stale",
        Quality::Bad => "bad",
    }
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A raw reading for people: registers in decimal and hex, bytes in hex, a record's fields.
pub fn raw_text(value: &Value) -> String {
    let mut s = String::new();
    match value {
        Value::Bool(b) => s.push_str(if *b { "1" } else { "0" }),
        Value::U16(r) => {
            let _ = write!(s, "{r} (0x{r:04X})");
        }
        Value::Registers(regs) => {
            for (i, r) in regs.iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                let _ = write!(s, "{sep}0x{r:04X}");
            }
        }
        Value::Bytes(bytes) => {
            for (i, b) in bytes.iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                let _ = write!(s, "{sep}{b:02X}");
            }
        }
        Value::Record(fields) => {
            for (i, (k, v)) in fields.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(s, "{sep}{k}={v}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn raw_readings_are_written_for_people() {
        assert_eq!(raw_text(&Value::Bool(true)), "1");
        assert_eq!(raw_text(&Value::U16(1234)), "1234 (0x04D2)");
        assert_eq!(
            raw_text(&Value::Registers(vec![0x41B4, 0])),
            "0x41B4 0x0000"
        );
        assert_eq!(raw_text(&Value::Bytes(vec![0x02, 0xff])), "02 FF");
        let fields = BTreeMap::from([
            ("CardNumber".to_string(), "42".to_string()),
            ("Format".to_string(), "H10301".to_string()),
        ]);
        assert_eq!(
            raw_text(&Value::Record(fields)),
            "CardNumber=42, Format=H10301"
        );
    }
}
