//! The mapping language's line controllers (`line_controllers:`), as written: an alarm
//! panel's serial interface (or its TCP bridge) described by a protocol, and the ONVIF items
//! bound to it. Kept apart from `model.rs` so that the Modbus vocabulary stays as it is.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model_common::{BackoffSpec, DurationText, IdleStateSpec, ParitySpec, RelayModeSpec};

/// A controller speaking a line protocol.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineControllerSpec {
    /// Unique name among all controllers (letters, digits, `_`, `-`).
    pub name: String,
    /// The serial port (give exactly one of `serial`, `tcp`); same vocabulary as
    /// `serial_ports`.
    pub serial: Option<LineSerialSpec>,
    /// A TCP socket (a serial-to-Ethernet bridge, the panel's IP module).
    pub tcp: Option<LineTcpSpec>,
    /// What the panel speaks: a protocol profile's name (`profiles/NAME.yaml` next to this
    /// file, or built in: `dsc-it100`), or the protocol itself.
    pub protocol: LineProtocolRef,
    /// Least silence between two frames sent (default `50ms`).
    pub inter_frame: Option<DurationText>,
    /// Reconnect policy (defaults `initial: 500ms`, `max: 30s`).
    pub backoff: Option<BackoffSpec>,
    /// Digital inputs reported by the protocol's `input` rules.
    pub inputs: Option<Vec<LineInputSpec>>,
    /// Relay outputs written as commands.
    pub relays: Option<Vec<LineRelaySpec>>,
    /// SendAuxiliaryCommand strings sent as commands.
    pub commands: Option<Vec<LineCommandSpec>>,
    /// Plain events, one per occurrence of a rule's `event`.
    pub events: Option<Vec<LineEventSpec>>,
    /// Values (property events) reported by the protocol's `value` rules.
    pub values: Option<Vec<LineValuePointSpec>>,
}

/// A value of a line controller: a rule's `value` point published as a property event,
/// its small integer turned into text by `map`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineValuePointSpec {
    /// Unique name, e.g. `Partition1State`.
    pub name: String,
    /// The point id a rule's `value` produces, e.g. `dsc/partition/1/state`.
    pub point: String,
    /// The topic: `rg:...`, `tns1:...` or `<your prefix>:...`.
    pub topic: String,
    /// Fixed source items.
    pub source: Option<Vec<crate::model_common::ItemSpec>>,
    /// Number → text, e.g. `{0: disarmed, 2: armed_away}`; without it the number is published.
    pub map: Option<BTreeMap<String, String>>,
    /// The data item's name (default `State` with a map, `Value` without).
    pub data: Option<String>,
}

/// A plain event published on every occurrence a rule's `event` reports.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineEventSpec {
    /// Unique name, e.g. `PanelTrouble`.
    pub name: String,
    /// The record point id a rule's `event` produces, e.g. `dsc/panel/trouble`.
    pub point: String,
    /// The topic: `rg:...`, `tns1:...` or `<your prefix>:...`.
    pub topic: String,
    /// Fixed source items.
    pub source: Option<Vec<crate::model_common::ItemSpec>>,
    /// Data items, each from a field of the occurrence (the rule's `event.items` names).
    pub data: Vec<LineEventItemSpec>,
}

/// A data item of a line event.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineEventItemSpec {
    /// The SimpleItem name.
    pub name: String,
    /// The occurrence's field (default: the same as `name`).
    pub field: Option<String>,
    /// Its type (default `string`).
    #[serde(rename = "type")]
    pub item_type: Option<crate::model_common::ItemTypeSpec>,
}

/// Serial line settings of a line controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineSerialSpec {
    /// Serial device, e.g. `/dev/ttyUSB0`.
    pub device: String,
    /// Bits per second, e.g. 9600.
    pub baud: u32,
    /// Parity (default `none`).
    pub parity: Option<ParitySpec>,
    /// Data bits, 5 to 8 (default 8).
    pub data_bits: Option<u8>,
    /// Stop bits, 1 or 2 (default 1).
    pub stop_bits: Option<u8>,
    /// The port's kernel RS-485 mode, for a UART that needs it (USB adapters do not).
    pub rs485: Option<crate::model_common::Rs485Spec>,
}

/// TCP settings of a line controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineTcpSpec {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// A protocol by profile name, or inline.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum LineProtocolRef {
    /// A protocol profile's name.
    Named(String),
    /// The protocol itself.
    Inline(Box<LineProtocolSpec>),
}

/// A protocol: framing, checksum, rules, commands, supervision.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "railgate line protocol",
    description = "A panel's line protocol: framing, checksum, rules, commands, supervision. Reference: mappings/README.md."
)]
pub(crate) struct LineProtocolSpec {
    /// A name for logs (default: the profile's or the controller's).
    pub name: Option<String>,
    /// What this protocol is (panel, interface module, manual). For readers only.
    #[allow(dead_code)]
    pub description: Option<String>,
    /// How frames are cut out of the stream.
    pub framing: LineFramingSpec,
    /// Largest frame body kept, in bytes (default 256).
    pub max_frame: Option<usize>,
    /// The checksum every frame carries, both ways, at the end of its body.
    pub checksum: Option<LineChecksumSpec>,
    /// Received messages, first match wins.
    pub rules: Vec<LineRuleSpec>,
    /// Commands that can be sent.
    pub commands: Option<Vec<LineCommandTemplateSpec>>,
    /// Link supervision.
    pub supervision: Option<LineSupervisionSpec>,
}

/// Framing: `delimiter` (text, e.g. "\r\n") or `start` and `end` (byte lists).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineFramingSpec {
    /// The end-of-frame text, e.g. `"\r\n"`.
    pub delimiter: Option<String>,
    /// Start marker bytes, e.g. `[0x02]`.
    pub start: Option<Vec<u8>>,
    /// End marker bytes, e.g. `[0x03]`.
    pub end: Option<Vec<u8>>,
    /// Length-prefixed framing (with `start`): where the length is.
    pub length: Option<LineLengthSpec>,
}

/// A length field.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineLengthSpec {
    /// Offset in the body.
    pub offset: usize,
    /// 1, 2 or 4 bytes.
    pub width: u8,
    /// `big` (default) or `little`.
    pub byte_order: Option<String>,
    /// Body length = field + adjust (default 0).
    pub adjust: Option<i64>,
}

/// A trailing checksum.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineChecksumSpec {
    /// `sum8`, `sum8_negated`, `xor8`, `crc8`, `crc8_maxim`, `crc8_autosar`, `crc16_modbus`,
    /// `crc16_ccitt_false`, `crc16_xmodem`, `crc16_kermit`.
    pub algorithm: String,
    /// `hex` (uppercase hex digits), `big` or `little` (raw bytes); default `big`.
    pub encoding: Option<String>,
    /// First covered byte of the body (default 0).
    pub start: Option<usize>,
}

/// A rule: `regex` (named groups become fields) and what it produces.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineRuleSpec {
    /// Its name, for logs.
    pub name: String,
    /// A regular expression over the message (anchor it: `^609(?P<zone>\d{3})$`); give
    /// `regex` (text protocols) or `bytes` (binary ones).
    pub regex: Option<String>,
    /// Binary: byte values the message must hold, e.g. `[{offset: 1, value: 0x10}]`.
    pub bytes: Option<Vec<LineByteMatchSpec>>,
    /// Binary: the message's exact length, if required.
    pub length: Option<usize>,
    /// Binary: fields read at their offsets.
    pub fields: Option<Vec<LineBinaryFieldSpec>>,
    /// A digital input's state.
    pub input: Option<LineInputRuleSpec>,
    /// A number (`field × scale + offset`, reported as a 16-bit unsigned value).
    pub value: Option<LineValueRuleSpec>,
    /// An event (record) with the rule's fields as items.
    pub event: Option<LineEventRuleSpec>,
    /// The panel accepted a command; `key`: the field naming it.
    pub ack: Option<LineAnswerSpec>,
    /// The panel refused a command; `reason`: the field with the error code.
    pub nak: Option<LineAnswerSpec>,
}

/// A byte the message must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineByteMatchSpec {
    /// Offset in the message.
    pub offset: usize,
    /// Expected value (after the mask).
    pub value: u8,
    /// Which bits count (default 0xFF).
    pub mask: Option<u8>,
}

/// A binary field.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineBinaryFieldSpec {
    /// Its name (placeholders and items refer to it).
    pub name: String,
    /// Offset in the message.
    pub offset: usize,
    /// `u8`, `i8`, `u16`, `i16`, `u32`, `i32` (default `u8`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `big` (default) or `little`.
    pub byte_order: Option<String>,
}

/// `input:` of a rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineInputRuleSpec {
    /// The point id, with `{field}` placeholders, e.g. `dsc/zone/{zone}`.
    pub point: String,
    /// The state the message means.
    pub state: bool,
}

/// `value:` of a rule: `field` (scaled), or a fixed `set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineValueRuleSpec {
    /// The point id, with placeholders.
    pub point: String,
    /// The field holding the number (give `field` or `set`).
    pub field: Option<String>,
    /// The value the message means, whatever its fields (e.g. 0 for "disarmed").
    #[schemars(range(min = 0, max = 65535))]
    pub set: Option<u16>,
    /// Multiplier (default 1).
    pub scale: Option<f64>,
    /// Added after scaling (default 0).
    pub offset: Option<f64>,
}

/// `event:` of a rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineEventRuleSpec {
    /// The record point id, with placeholders.
    pub point: String,
    /// Item name → field name (default: every field under its own name).
    pub items: Option<BTreeMap<String, String>>,
}

/// `ack:` / `nak:` of a rule.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineAnswerSpec {
    /// The field naming the command answered.
    pub key: Option<String>,
    /// The field with the reason (nak only).
    pub reason: Option<String>,
}

/// A command template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineCommandTemplateSpec {
    /// Its name (relays and commands refer to it with `send:`).
    pub name: String,
    /// The message as text with `{param}`, `{param:3}` (zero-padded), `{param:<6}` placeholders
    /// (give `text` or `parts`).
    pub text: Option<String>,
    /// Binary: the message piece by piece.
    pub parts: Option<Vec<LinePartSpec>>,
    /// The acknowledgement to wait for.
    pub ack: Option<LineAckSpec>,
}

/// One piece of a binary command: `bytes`, `text`, or an integer parameter `int` of `width`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinePartSpec {
    /// Bytes as they are.
    pub bytes: Option<Vec<u8>>,
    /// Text with placeholders.
    pub text: Option<String>,
    /// An integer parameter's name.
    pub int: Option<String>,
    /// Its width in bytes: 1, 2 or 4 (default 1).
    pub width: Option<u8>,
    /// `big` (default) or `little`.
    pub byte_order: Option<String>,
}

/// `ack:` of a command template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineAckSpec {
    /// The key the answer must carry (placeholders from the parameters allowed).
    pub key: Option<String>,
    /// How long to wait (default `2s`).
    pub timeout: Option<DurationText>,
}

/// Supervision.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineSupervisionSpec {
    /// The command sent every `every` (a poll), if any.
    pub command: Option<String>,
    /// The period (default `30s`).
    pub every: Option<DurationText>,
    /// Silence after which the link is down.
    pub silence: DurationText,
    /// Commands sent once on every new connection when the link comes up, e.g. a status
    /// request that makes the panel report every state again.
    pub on_connect: Option<Vec<String>>,
}

/// A digital input of a line controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineInputSpec {
    /// The ONVIF token, e.g. `Zone1`.
    pub token: String,
    /// The point id a rule's `input` produces, e.g. `dsc/zone/001`.
    pub point: String,
    /// Flip the state (default false).
    pub invert: Option<bool>,
    /// The contact's state at rest (default `open`).
    pub idle_state: Option<IdleStateSpec>,
}

/// What a write sends.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineSendSpec {
    /// The protocol command.
    pub send: String,
    /// Its parameters: text, or `${env:NAME}` / `${file:/path}` for a secret (read when the
    /// mapping is loaded, never logged).
    pub params: Option<BTreeMap<String, String>>,
}

/// A relay of a line controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineRelaySpec {
    /// The ONVIF token, e.g. `PGM1`.
    pub token: String,
    /// Sent to make the relay active.
    pub on: LineSendSpec,
    /// Sent to make it idle; without it (a momentary output that times itself) going idle
    /// sends nothing.
    pub off: Option<LineSendSpec>,
    /// `bistable` (default) or `monostable`.
    pub mode: Option<RelayModeSpec>,
    /// Monostable hold time (required for monostable).
    pub delay: Option<DurationText>,
    /// The contact's state at rest (default `open`).
    pub idle_state: Option<IdleStateSpec>,
}

/// An auxiliary command of a line controller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineCommandSpec {
    /// The exact SendAuxiliaryCommand string, e.g. `Arm|Partition1`.
    pub command: String,
    /// What it sends.
    #[serde(flatten)]
    pub send: LineSendSpec,
}
