//! The mapping's card-reader controllers (`card_readers:`): OSDP buses, serial Wiegand
//! converters and Wiegand on GPIO lines. Kept apart from `model.rs`'s Modbus controllers:
//! a reader controller carries readers, not points.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model_common::DurationText;

/// One card-reader link: give exactly one of `osdp`, `wiegand_serial`, `wiegand_gpio`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReaderControllerSpec {
    /// Unique name among all controllers (letters, digits, `_`, `-`); link events name it.
    pub name: String,
    /// An OSDP bus (RS-485): the gateway is the control panel, the readers are its PDs.
    pub osdp: Option<OsdpSpec>,
    /// A serial Wiegand converter printing one line per card read.
    pub wiegand_serial: Option<WiegandSerialSpec>,
    /// A Wiegand reader wired to two GPIO lines (D0, D1) of a Linux GPIO chip.
    pub wiegand_gpio: Option<WiegandGpioSpec>,
    /// The readers: any number on an OSDP bus (each with its `address`), exactly one on a
    /// Wiegand link.
    pub readers: Vec<ReaderSpec>,
}

/// An OSDP bus.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OsdpSpec {
    /// Serial device, e.g. `/dev/ttyUSB0`.
    pub device: String,
    /// 9600 (default), 19200, 38400, 57600, 115200 or 230400.
    pub baud: Option<u32>,
    /// The port's kernel RS-485 mode, for a UART that needs it (USB adapters do not).
    pub rs485: Option<crate::model_common::Rs485Spec>,
}

/// A serial Wiegand converter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WiegandSerialSpec {
    /// Serial device, e.g. `/dev/ttyUSB1`.
    pub device: String,
    /// Bits per second (default 9600; 8 data bits, no parity, 1 stop bit).
    pub baud: Option<u32>,
    /// How the converter writes a read: `hex` (default) or `decimal`.
    pub encoding: Option<EncodingSpec>,
    /// Whether the printed number includes the parity bits (default `true`); without them
    /// the gateway recomputes them.
    pub includes_parity: Option<bool>,
    /// The Wiegand format of the cards, e.g. `h10301`.
    pub format: String,
    /// The port's kernel RS-485 mode, for a UART that needs it (USB adapters do not).
    pub rs485: Option<crate::model_common::Rs485Spec>,
}

/// How a converter writes a number.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EncodingSpec {
    /// Hex digits.
    Hex,
    /// Decimal digits.
    Decimal,
}

/// Wiegand on GPIO lines.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WiegandGpioSpec {
    /// The GPIO character device, e.g. `/dev/gpiochip0`.
    pub chip: String,
    /// The line offset of D0 on the chip.
    pub d0: u32,
    /// The line offset of D1 on the chip.
    pub d1: u32,
    /// The Wiegand format of the cards, e.g. `h10301`.
    pub format: String,
    /// Silence that ends a frame (default `25ms`).
    pub frame_gap: Option<DurationText>,
    /// Edges closer than this to the one before are noise and drop the frame (default
    /// 200 µs, which cannot be written; give whole milliseconds, e.g. `1ms`, for slow readers).
    pub min_interval: Option<DurationText>,
}

/// One reader.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReaderSpec {
    /// The reader's token (1–64 characters, no spaces): the `Reader` source item of its
    /// events.
    pub token: String,
    /// OSDP only: its address on the bus, 0–126.
    pub address: Option<u32>,
    /// OSDP only: the Wiegand format raw card reads are decoded with, e.g. `h10301`.
    pub format: Option<String>,
    /// OSDP only: the secure channel: `install` (default: install a fresh key on first
    /// contact, kept in the data folder), `off` (plain text), or the path of a file holding
    /// the 16-byte key as 32 hex digits.
    pub secure: Option<String>,
    /// The topic of its card reads (default `rg:CardReader/CardRead`).
    pub topic: Option<String>,
    /// The data items of its card reads, in order (default `[format, facility_code,
    /// card_number]`; `bits` adds the raw bits as hex).
    pub data: Option<Vec<CardItemSpec>>,
    /// OSDP only: the topic of keypad input (default `rg:CardReader/Keypad`).
    pub keypad_topic: Option<String>,
    /// OSDP only: its LED (and buzzer) as an ONVIF relay output.
    pub led: Option<LedSpec>,
    /// OSDP only: its tamper switch as an ONVIF digital input with this token (active:
    /// tampered).
    pub tamper_input: Option<String>,
    /// OSDP only: its power report as an ONVIF digital input with this token (active: power
    /// failure).
    pub power_input: Option<String>,
}

/// A data item of a card read.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CardItemSpec {
    /// `Format`: the Wiegand format's name.
    Format,
    /// `FacilityCode` (xs:int).
    FacilityCode,
    /// `CardNumber` (xs:string; a credential: see the README).
    CardNumber,
    /// `Bits`: the raw bits as hex, and `BitCount`.
    Bits,
}

/// A reader's LED as a relay.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LedSpec {
    /// The relay token, e.g. `Reader1-LED`.
    pub relay: String,
    /// The colour while the relay is active (default `green`); inactive is off.
    pub color: Option<LedColorSpec>,
    /// Whether the buzzer sounds while the relay is active (default `false`).
    pub buzzer: Option<bool>,
}

/// An LED colour.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LedColorSpec {
    /// Red.
    Red,
    /// Green.
    Green,
    /// Amber.
    Amber,
    /// Blue.
    Blue,
    /// Magenta.
    Magenta,
    /// Cyan.
    Cyan,
}
