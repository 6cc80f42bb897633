//! The mapping language as written: serde types for site files and profile files.
//!
//! These types are the single description of the language's *shape*: serde deserializes
//! them and schemars derives the JSON Schema from them ([`crate::json_schema`]), so editor
//! completion and validation cannot drift apart. Everything that needs more than shape
//! (address ranges, references between items, topics) is checked later by `compile`.
//!
//! Conventions: every optional key is an `Option` (its default is applied by the compiler and
//! documented in `mappings/README.md`); lists keep file order; keys are `snake_case`.

use std::borrow::Cow;
use std::collections::BTreeMap;

pub(crate) use crate::model_common::{
    BackoffSpec, DurationText, IdleStateSpec, ItemSpec, ItemTypeSpec, ParitySpec, RelayModeSpec,
    Rs485Spec, RtsLevelSpec, Scalar, parse_duration,
};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

/// A site mapping file: the controllers of one site and what their points mean to ONVIF.
///
/// Only its schema is used: the loader reads each section's items one at a time
/// (`parse::Parsed::items`) so that one broken item does not hide the others.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "railgate mapping",
    description = "Binds a legacy controller's Modbus points to ONVIF digital inputs, relay outputs, events and auxiliary commands. Reference: mappings/README.md."
)]
pub(crate) struct SiteFile {
    /// Your own topic namespaces: prefix → namespace URI, e.g. `acme: "http://acme.example/topics"`.
    /// `tns1` (ONVIF) and `rg` (`urn:railgate:topics`) are built in.
    pub topic_namespaces: Option<BTreeMap<String, String>>,
    /// The southbound links (one per Modbus unit), optionally instantiating a profile.
    pub controllers: Option<Vec<ControllerSpec>>,
    /// ONVIF digital inputs.
    pub inputs: Option<Vec<InputSpec>>,
    /// ONVIF relay outputs.
    pub relays: Option<Vec<RelaySpec>>,
    /// Values (analog or status) published as events.
    pub values: Option<Vec<ValueSpec>>,
    /// SendAuxiliaryCommand strings and the writes they cause.
    pub commands: Option<Vec<CommandSpec>>,
    /// Serial ports listed by the DeviceIO service (GetSerialPorts); those with `expose: true`
    /// take raw commands (SendReceiveSerialCommand).
    pub serial_ports: Option<Vec<SerialPortSpec>>,
    /// Controllers speaking a line protocol (an alarm panel's serial interface) over a serial
    /// port or TCP, with the inputs, relays and commands bound to them.
    pub line_controllers: Option<Vec<crate::line_model::LineControllerSpec>>,
    /// Card-reader links: OSDP buses, serial Wiegand converters, Wiegand on GPIO.
    pub card_readers: Option<Vec<crate::model_readers::ReaderControllerSpec>>,
}

/// A serial port offered to ONVIF clients.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SerialPortSpec {
    /// The ONVIF token (1–64 characters, no spaces), unique among serial ports.
    pub token: String,
    /// Serial device, e.g. `/dev/ttyUSB1`.
    pub device: String,
    /// Bits per second, e.g. 9600. Required, except on a Modbus RTU controller's device
    /// (`expose: false`), whose speed it is.
    pub baud: Option<u32>,
    /// Parity (default `none`; on a Modbus RTU controller's device, its parity).
    pub parity: Option<ParitySpec>,
    /// Data bits, 5 to 8 (default 8).
    pub data_bits: Option<u8>,
    /// Stop bits, 1 or 2 (default 1).
    pub stop_bits: Option<u8>,
    /// The electrical interface (default `rs232`). Fixed by the wiring, unless the port has a
    /// kernel `rs485` mode: then clients may switch it between `rs232`, `rs485_half_duplex`
    /// and `rs485_full_duplex` (SetSerialPortConfiguration), and the mode follows.
    #[serde(rename = "type")]
    pub kind: Option<SerialTypeSpec>,
    /// The port's kernel RS-485 mode, for a UART that needs it (see the `rs485` reference).
    pub rs485: Option<Rs485Spec>,
    /// Whether clients may send raw commands and change the line settings (default `true`).
    /// A Modbus RTU controller's device can only be listed read-only, with `expose: false`.
    pub expose: Option<bool>,
}

/// A serial port's electrical interface (tmd:SerialPortType).
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SerialTypeSpec {
    /// RS-232.
    Rs232,
    /// RS-422, half duplex.
    Rs422HalfDuplex,
    /// RS-422, full duplex.
    Rs422FullDuplex,
    /// RS-485, half duplex (two wires).
    Rs485HalfDuplex,
    /// RS-485, full duplex (four wires).
    Rs485FullDuplex,
    /// Anything else.
    Generic,
}

/// A profile: the points of one controller model, instantiated per controller.
///
/// Like [`SiteFile`], only its schema is used; items are read one at a time.
#[allow(dead_code)]
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "railgate mapping profile",
    description = "The points of one controller model; a site instantiates it per controller with `profile: {name, token_prefix, address_offset}`."
)]
pub(crate) struct ProfileFile {
    /// What this profile describes (model, firmware, manual).
    pub description: Option<String>,
    /// Whether the addresses in this profile count from 0 (wire addresses) or 1 (manual style).
    pub address_base: AddressBase,
    /// Topic namespaces the profile's values use (merged with the site's).
    pub topic_namespaces: Option<BTreeMap<String, String>>,
    /// Digital inputs (without `controller`: the instance decides).
    pub inputs: Option<Vec<InputSpec>>,
    /// Relay outputs.
    pub relays: Option<Vec<RelaySpec>>,
    /// Values.
    pub values: Option<Vec<ValueSpec>>,
    /// Auxiliary commands.
    pub commands: Option<Vec<CommandSpec>>,
}

/// One southbound link.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ControllerSpec {
    /// Unique name (letters, digits, `_`, `-`); items refer to it with `controller:`.
    pub name: String,
    /// Modbus TCP transport (give exactly one of `modbus_tcp`, `modbus_rtu`).
    pub modbus_tcp: Option<TcpSpec>,
    /// Modbus RTU transport over a serial line.
    pub modbus_rtu: Option<RtuSpec>,
    /// Modbus unit id (slave address): 0–255 on TCP, 1–247 on RTU.
    pub unit: u8,
    /// Whether addresses in this file count from 0 (wire addresses, as in the PDU) or from 1
    /// (as many manuals write them: "register 1" is wire address 0). Required: there is no
    /// safe default.
    pub address_base: AddressBase,
    /// Time between the starts of two poll cycles (default `200ms`).
    pub poll_interval: Option<DurationText>,
    /// How long to wait for one response (default `500ms`).
    pub timeout: Option<DurationText>,
    /// Extra attempts after a timeout before the link is declared down (default 2).
    #[schemars(range(max = 10))]
    pub retries: Option<u32>,
    /// Most registers in one read request, 1–125 (default 125).
    #[schemars(range(min = 1, max = 125))]
    pub max_registers_per_request: Option<u16>,
    /// Most bits in one read request, 1–2000 (default 2000).
    #[schemars(range(min = 1, max = 2000))]
    pub max_bits_per_request: Option<u16>,
    /// Unread addresses a read may span to merge two blocks into one request (default 0:
    /// only adjacent points share a read). Many devices refuse a read covering an address
    /// they do not implement; raise it only for a device known to answer such reads.
    pub max_gap: Option<u16>,
    /// Silence kept between two requests (default `0ms`; RS-485 devices often need a few ms).
    pub inter_frame_delay: Option<DurationText>,
    /// Whether the controller implements FC22 "mask write register" (default true). Without it,
    /// a bit inside a holding register is written by read-modify-write, which is not atomic.
    pub mask_write: Option<bool>,
    /// Reconnect policy (defaults `initial: 500ms`, `max: 30s`).
    pub backoff: Option<BackoffSpec>,
    /// Instantiate a profile's points on this controller.
    pub profile: Option<ProfileUse>,
}

/// Modbus TCP settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TcpSpec {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (default 502).
    pub port: Option<u16>,
}

/// Modbus RTU settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RtuSpec {
    /// Serial device, e.g. `/dev/ttyUSB0`.
    pub device: String,
    /// Bits per second, e.g. 9600 or 19200.
    pub baud: u32,
    /// Parity.
    pub parity: ParitySpec,
    /// Data bits, 7 or 8 (default 8).
    pub data_bits: Option<u8>,
    /// Stop bits, 1 or 2 (default 1).
    pub stop_bits: Option<u8>,
    /// The port's kernel RS-485 mode, for a UART that needs it (USB adapters do not).
    pub rs485: Option<Rs485Spec>,
}

/// A profile instantiated on a controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileUse {
    /// The profile: a built-in one, or `profiles/<name>.yaml` next to this file (which wins).
    pub name: String,
    /// Put in front of every token and value name of the profile (and replaces `${prefix}`
    /// in its strings), so one profile serves many controllers without clashes.
    pub token_prefix: Option<String>,
    /// Added to every wire address of the profile (default 0), for a module mapped at an offset.
    pub address_offset: Option<i64>,
}

/// `0` or `1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AddressBase(pub u8);

impl<'de> Deserialize<'de> for AddressBase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            b @ (0 | 1) => Ok(AddressBase(b)),
            other => Err(serde::de::Error::custom(format!(
                "address_base must be 0 or 1, not {other}"
            ))),
        }
    }
}

impl JsonSchema for AddressBase {
    fn schema_name() -> Cow<'static, str> {
        "AddressBase".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "0: addresses are wire addresses; 1: addresses count from 1 as in many manuals (\"register 1\" is wire address 0).",
            "type": "integer",
            "enum": [0, 1]
        })
    }
}

/// The point-address keys every item shares; exactly one table key is given.
pub(crate) struct PointFields {
    /// `coil: N`
    pub coil: Option<u64>,
    /// `discrete_input: N`
    pub discrete_input: Option<u64>,
    /// `holding_register: N`
    pub holding_register: Option<u64>,
    /// `input_register: N`
    pub input_register: Option<u64>,
    /// `bit: 0..15` inside a register.
    pub bit: Option<u8>,
}

/// A digital input.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputSpec {
    /// The ONVIF token (unique among inputs), e.g. `Door1`.
    pub token: String,
    /// The controller it is read from (may be omitted when the file has one controller).
    pub controller: Option<String>,
    /// Read a coil.
    pub coil: Option<u64>,
    /// Read a discrete input.
    pub discrete_input: Option<u64>,
    /// Read a bit of a holding register (with `bit`).
    pub holding_register: Option<u64>,
    /// Read a bit of an input register (with `bit`).
    pub input_register: Option<u64>,
    /// The bit inside the register, 0 = least significant.
    #[schemars(range(max = 15))]
    pub bit: Option<u8>,
    /// Flip the wire value (for contacts wired so that 1 means open). Default false.
    pub invert: Option<bool>,
    /// A change counts once the new value held this long (default `0ms`: none).
    pub debounce: Option<DurationText>,
    /// The contact's state at rest (default `open`); the input is active when it differs.
    pub idle_state: Option<IdleStateSpec>,
}

/// A relay output.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelaySpec {
    /// The ONVIF token (unique among relays), e.g. `DoorLock1`.
    pub token: String,
    /// The controller it is written to (may be omitted when the file has one controller).
    pub controller: Option<String>,
    /// Write a coil.
    pub coil: Option<u64>,
    /// Write a bit of a holding register (with `bit`).
    pub holding_register: Option<u64>,
    /// Not writable: accepted only to explain why.
    pub discrete_input: Option<u64>,
    /// Not writable: accepted only to explain why.
    pub input_register: Option<u64>,
    /// The bit inside the holding register, 0 = least significant.
    #[schemars(range(max = 15))]
    pub bit: Option<u8>,
    /// `bistable` (stays where set; default) or `monostable` (returns to idle after `delay`).
    pub mode: Option<RelayModeSpec>,
    /// Monostable hold time, e.g. `2s` (required for monostable, not allowed for bistable).
    pub delay: Option<DurationText>,
    /// The contact's state at rest (default `open`).
    pub idle_state: Option<IdleStateSpec>,
    /// Flip the wire value (for outputs where writing 0 energises the relay). Default false.
    pub invert: Option<bool>,
    /// Read the actual state from another point, e.g. a discrete input wired as feedback
    /// (default: read back the written point).
    pub read_back: Option<ReadBackSpec>,
}

/// A relay's feedback point on the same controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadBackSpec {
    /// A coil.
    pub coil: Option<u64>,
    /// A discrete input.
    pub discrete_input: Option<u64>,
    /// A bit of a holding register (with `bit`).
    pub holding_register: Option<u64>,
    /// A bit of an input register (with `bit`).
    pub input_register: Option<u64>,
    /// The bit inside the register.
    #[schemars(range(max = 15))]
    pub bit: Option<u8>,
}

/// A value read from a controller and published as events.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValueSpec {
    /// Unique name, e.g. `battery`; commands refer to it with `value_point`.
    pub name: String,
    /// The controller it is read from (may be omitted when the file has one controller).
    pub controller: Option<String>,
    /// Read a coil (type `bool`).
    pub coil: Option<u64>,
    /// Read a discrete input (type `bool`).
    pub discrete_input: Option<u64>,
    /// Read holding register(s).
    pub holding_register: Option<u64>,
    /// Read input register(s).
    pub input_register: Option<u64>,
    /// Read one bit of the register (type `bool`).
    #[schemars(range(max = 15))]
    pub bit: Option<u8>,
    /// Wire type: `bool`, `u16`, `i16`, `u32`, `i32`, `f32` (required for whole registers).
    #[serde(rename = "type")]
    pub wire_type: Option<WireTypeSpec>,
    /// Byte order of a 32-bit type (required for u32/i32/f32; not allowed for 16-bit types).
    pub byte_order: Option<ByteOrderSpec>,
    /// A bit field of an integer: `(raw >> shift) & (2^width - 1)`.
    pub bits: Option<BitsSpec>,
    /// `published = raw * scale + offset` (default 1).
    pub scale: Option<f64>,
    /// See `scale` (default 0).
    pub offset: Option<f64>,
    /// Enumeration: raw integer → text, e.g. `{0: disarmed, 1: armed}`; also used backwards by
    /// commands with `value_point`.
    pub map: Option<BTreeMap<String, String>>,
    /// The unit of the published number, e.g. `V`, `%`, `°C` (for readers of the file; on a
    /// standard topic it is checked against the topic's unit).
    pub unit: Option<String>,
    /// Publish a number only when it moved more than this since the last publication.
    #[schemars(range(min = 0.0))]
    pub deadband: Option<f64>,
    /// Republish the current value this often even without a change, e.g. `5m`.
    pub heartbeat: Option<DurationText>,
    /// The event topic: `tns1:...` (ONVIF), `rg:...` (railgate) or `<your prefix>:...`.
    pub topic: String,
    /// Source items (fixed per value) identifying what the event is about.
    pub source: Option<Vec<ItemSpec>>,
    /// Key items (fixed per value).
    pub key: Option<Vec<ItemSpec>>,
    /// The data item carrying the value (default name `Value`, type from the decoding).
    pub data: Option<DataSpec>,
    /// Whether events are property events (Initialized/Changed/Deleted); default true.
    pub property: Option<bool>,
}

/// A bit field.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BitsSpec {
    /// Least significant bit of the field.
    #[schemars(range(max = 31))]
    pub shift: u8,
    /// Width in bits.
    #[schemars(range(min = 1, max = 32))]
    pub width: u8,
}

/// The data item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataSpec {
    /// Item name (default `Value`).
    pub name: Option<String>,
    /// Declared type (default from the decoding: text for maps, boolean for bits, ...).
    #[serde(rename = "type")]
    pub item_type: Option<ItemTypeSpec>,
}

/// An auxiliary command.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandSpec {
    /// The exact SendAuxiliaryCommand string, e.g. `Arm|Partition1`.
    pub command: String,
    /// The controller written to (may be omitted when the file has one controller).
    pub controller: Option<String>,
    /// Write a coil (`value: true|false`).
    pub coil: Option<u64>,
    /// Write a holding register (`value: 0..65535`) or a bit of it (with `bit`, `value: true|false`).
    pub holding_register: Option<u64>,
    /// Not writable: accepted only to explain why.
    pub discrete_input: Option<u64>,
    /// Not writable: accepted only to explain why.
    pub input_register: Option<u64>,
    /// The bit inside the holding register.
    #[schemars(range(max = 15))]
    pub bit: Option<u8>,
    /// Write through a value's point and map instead of an address: `value` is then one of
    /// the map's names.
    pub value_point: Option<String>,
    /// What is written: `true`/`false`, a number, or a name from `value_point`'s map.
    pub value: Scalar,
    /// Whether the device answers reads of this point, so it is polled like a value (default
    /// false: a command's point is written, never read, since devices often refuse reads of
    /// command registers).
    pub read_back: Option<bool>,
}

macro_rules! point_fields {
    ($($t:ty),*) => {$(
        impl $t {
            pub(crate) fn point_fields(&self) -> PointFields {
                PointFields {
                    coil: self.coil,
                    discrete_input: self.discrete_input,
                    holding_register: self.holding_register,
                    input_register: self.input_register,
                    bit: self.bit,
                }
            }
        }
    )*};
}
point_fields!(InputSpec, RelaySpec, ValueSpec, CommandSpec);

impl ReadBackSpec {
    pub(crate) fn point_fields(&self) -> PointFields {
        PointFields {
            coil: self.coil,
            discrete_input: self.discrete_input,
            holding_register: self.holding_register,
            input_register: self.input_register,
            bit: self.bit,
        }
    }
}

/// A wire type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireTypeSpec {
    /// One bit.
    Bool,
    /// One register, unsigned.
    U16,
    /// One register, signed.
    I16,
    /// Two registers, unsigned.
    U32,
    /// Two registers, signed.
    I32,
    /// Two registers, IEEE 754 float.
    F32,
}

/// A 32-bit byte order, named by where bytes A (most significant) to D land on the wire.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
pub(crate) enum ByteOrderSpec {
    /// Big-endian, high word first (Modbus's own order).
    #[serde(rename = "ABCD")]
    Abcd,
    /// Low word first (word swap).
    #[serde(rename = "CDAB")]
    Cdab,
    /// Bytes swapped inside each register.
    #[serde(rename = "BADC")]
    Badc,
    /// Little-endian.
    #[serde(rename = "DCBA")]
    Dcba,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn durations_without_unit_or_with_garbage_are_refused() {
        assert!(parse_duration("50").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 sec").unwrap_err().contains("unit"));
        assert!(parse_duration("1.2345s").is_err());
        assert!(parse_duration(".5s").is_err());
        assert!(parse_duration("5.ms").is_err());
        assert!(parse_duration("1.5ms").unwrap_err().contains("millisecond"));
        assert!(
            parse_duration("999999999h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn schema_pattern_agrees_with_the_parser() {
        let schema =
            serde_json::json!({"type": "string", "pattern": crate::model_common::DURATION_PATTERN});
        for s in [
            "50ms", "2s", "1.5s", "1m", "1h", "0ms", "0.001s", "50", "5 sec", "1.2345s", "x",
            "1.5ms", "5.s", ".5s", "", "1e3s",
        ] {
            let by_schema = jsonschema::is_valid(&schema, &serde_json::json!(s));
            assert_eq!(by_schema, parse_duration(s).is_ok(), "{s}");
        }
    }
}
