//! The spec types every kind of controller shares (durations, parity, the kernel RS-485
//! mode, reconnect policy, idle states, relay modes, event items and scalars), so that
//! `model.rs` (the site file), `line_model.rs` and `model_readers.rs` all take them from here
//! and none takes from another.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

/// Serial parity.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ParitySpec {
    /// No parity bit.
    None,
    /// Even parity (the Modbus RTU default).
    Even,
    /// Odd parity.
    Odd,
}

impl From<ParitySpec> for railgate_adapters::serial::Parity {
    fn from(p: ParitySpec) -> Self {
        match p {
            ParitySpec::None => Self::None,
            ParitySpec::Even => Self::Even,
            ParitySpec::Odd => Self::Odd,
        }
    }
}

/// The kernel RS-485 mode of a serial port (Linux `TIOCSRS485`): the UART's driver switches
/// the transceiver with RTS. Only for UARTs that need it (on-board or HAT UARTs wired to an
/// RS-485 transceiver); USB adapters that switch direction themselves need nothing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rs485Spec {
    /// The RTS level while sending: `high` (default) or `low`.
    pub rts_on_send: Option<RtsLevelSpec>,
    /// Wait between raising RTS and the first bit, whole milliseconds, at most 100 (default `0ms`).
    pub delay_before_send: Option<DurationText>,
    /// Wait between the last bit and dropping RTS, whole milliseconds, at most 100 (default `0ms`).
    pub delay_after_send: Option<DurationText>,
    /// Four wires: keep the receiver on while sending (default `false`: a two-wire bus would
    /// read back its own frames). On a `serial_ports` entry its `type` says this instead.
    pub full_duplex: Option<bool>,
    /// Switch the transceiver's bus termination on, where the hardware has one (default `false`).
    pub terminate_bus: Option<bool>,
}

/// An RTS level.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RtsLevelSpec {
    /// RTS high.
    High,
    /// RTS low.
    Low,
}

/// Reconnect policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackoffSpec {
    /// First delay before reconnecting (default `500ms`).
    pub initial: Option<DurationText>,
    /// Largest delay; the delay doubles up to this (default `30s`).
    pub max: Option<DurationText>,
}

/// A fixed source or key item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemSpec {
    /// Item name, e.g. `Partition`.
    pub name: String,
    /// Declared type (default: from the value, or the standard's for standard topics).
    #[serde(rename = "type")]
    pub item_type: Option<ItemTypeSpec>,
    /// The value every event carries; `${prefix}` and `${controller}` are replaced.
    pub value: Option<Scalar>,
}

/// `open` or `closed`.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IdleStateSpec {
    /// Normally open.
    Open,
    /// Normally closed.
    Closed,
}

/// `monostable` or `bistable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RelayModeSpec {
    /// Returns to idle after `delay`.
    Monostable,
    /// Stays where it was set.
    Bistable,
}

/// An event item type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub(crate) enum ItemTypeSpec {
    /// xs:boolean
    #[serde(rename = "xs:boolean")]
    Boolean,
    /// xs:int
    #[serde(rename = "xs:int")]
    Int,
    /// xs:float
    #[serde(rename = "xs:float")]
    Float,
    /// xs:double
    #[serde(rename = "xs:double")]
    Double,
    /// xs:string
    #[serde(rename = "xs:string")]
    String,
    /// tt:ReferenceToken (source and key items)
    #[serde(rename = "tt:ReferenceToken")]
    ReferenceToken,
}

/// A scalar as written: `true`, `12`, `1.5` or text.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// Text.
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "true/false, a number, or text.",
            "type": ["boolean", "number", "string"]
        })
    }
}

/// A duration written with a unit: `50ms`, `2s`, `1.5s`, `1m`, `1h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DurationText(pub Duration);

/// The pattern the schema checks durations against (parse_duration accepts exactly these).
pub(crate) const DURATION_PATTERN: &str = r"^[0-9]{1,9}((\.[0-9]{1,3})?(s|m|h)|ms)$";

/// Parses `50ms`, `2s`, `1.5s`, `1m`, `1h` (at most 3 decimals, at most 10 000 hours).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "`{t}` has no unit: write e.g. `{t}ms` or `{t}s` (units: ms, s, m, h)"
            ));
        }
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{t}`: use ms, s, m or h (e.g. `50ms`, `2s`)"
            ));
        }
    };
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    let bad = || format!("`{t}` is not a duration: write a number and a unit, e.g. `50ms`, `2s`");
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 3
        || number.ends_with('.')
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let mut frac_milli: u64 = 0;
    let mut scale = 100;
    for b in frac.bytes() {
        frac_milli += u64::from(b - b'0') * scale;
        scale /= 10;
    }
    // whole ≤ 999 999 999 and unit_ms ≤ 3.6e6: fits u64 comfortably.
    let ms = whole * unit_ms + frac_milli * unit_ms / 1000;
    if !(frac_milli * unit_ms).is_multiple_of(1000) {
        return Err(format!("`{t}` is finer than a millisecond"));
    }
    if ms > 10_000 * 3_600_000 {
        return Err(format!("`{t}` is too long (at most 10000h)"));
    }
    Ok(Duration::from_millis(ms))
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(DurationText)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration with a unit: `50ms`, `2s`, `1.5s`, `1m`, `1h`.",
            "type": "string",
            "pattern": DURATION_PATTERN,
            "examples": ["50ms", "2s", "1m"]
        })
    }
}
