//! The compiled mapping: what a validated YAML file means, resolved and ready to run.
//!
//! The loader (`load`) produces a [`Plan`]; the engine (`engine`) runs it; the gateway starts
//! one adapter per [`Controller`] and serves the tokens to ONVIF clients. Nothing here refers to
//! YAML, files or positions: every check that needs them has passed before a `Plan` exists.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use railgate_adapters::PointId;
use railgate_adapters::modbus::ModbusConfig;
use railgate_adapters::serial::{LineSettings, Rs485, Rs485Mode};

/// A whole site: every controller and every ONVIF-visible thing bound to it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The southbound links, in file order.
    pub controllers: Vec<Controller>,
    /// ONVIF digital inputs, in file order (the order GetDigitalInputs lists them).
    pub inputs: Vec<InputPoint>,
    /// ONVIF relay outputs, in file order.
    pub relays: Vec<RelayPoint>,
    /// Values published as events.
    pub values: Vec<ValuePoint>,
    /// SendAuxiliaryCommand strings and the writes they cause.
    pub commands: Vec<AuxCommand>,
    /// Serial ports offered to clients, in file order (GetSerialPorts).
    pub serial_ports: Vec<SerialPortPoint>,
    /// Occurrences (card reads, a panel's event frames) published as events.
    pub records: Vec<RecordPoint>,
}

/// A serial port (tmd:GetSerialPorts lists it by `token`).
#[derive(Clone, Debug, PartialEq)]
pub struct SerialPortPoint {
    /// tt:ReferenceToken, unique among serial ports.
    pub token: String,
    /// The device node.
    pub device: PathBuf,
    /// The line settings the mapping gives (SetSerialPortConfiguration may change those of a
    /// raw port at run time).
    pub line: LineSettings,
    /// The electrical interface.
    pub kind: SerialKind,
    /// The port's kernel RS-485 mode, when the mapping gives it one: then its type can be
    /// switched between RS-232 and RS-485 half or full duplex ([`SerialPortPoint::rs485_mode`]).
    pub rs485: Option<Rs485>,
    /// Who owns the port, and so whether clients may use it.
    pub access: SerialAccess,
}

impl SerialPortPoint {
    /// The kernel RS-485 mode the port has as `kind`, or `None` if it cannot be `kind`. A
    /// port without a kernel mode is only its mapped type (its wiring decides) and its mode
    /// is left alone; one with a kernel mode is RS-232 (mode off) or RS-485 half or full
    /// duplex (mode on, the receiver on while sending only in full duplex).
    pub fn rs485_mode(&self, kind: SerialKind) -> Option<Rs485Mode> {
        match (self.rs485, kind) {
            (None, k) => (k == self.kind).then_some(Rs485Mode::Keep),
            (Some(_), SerialKind::Rs232) => Some(Rs485Mode::Off),
            (Some(r), SerialKind::Rs485HalfDuplex | SerialKind::Rs485FullDuplex) => {
                Some(Rs485Mode::On(Rs485 {
                    full_duplex: kind == SerialKind::Rs485FullDuplex,
                    ..r
                }))
            }
            (Some(_), _) => None,
        }
    }
}

/// Who owns a serial port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SerialAccess {
    /// The gateway's raw port task: clients send commands and change its settings.
    Raw,
    /// Listed only (`expose: false`); `controllers` are the Modbus RTU controllers whose bus
    /// owns it (none if nothing uses it). Clients read its settings, nothing more.
    ReadOnly {
        /// The controllers on it, in file order.
        controllers: Vec<String>,
    },
}

/// tmd:SerialPortType.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialKind {
    /// RS232.
    Rs232,
    /// RS422HalfDuplex.
    Rs422HalfDuplex,
    /// RS422FullDuplex.
    Rs422FullDuplex,
    /// RS485HalfDuplex.
    Rs485HalfDuplex,
    /// RS485FullDuplex.
    Rs485FullDuplex,
    /// Generic.
    Generic,
}

impl SerialKind {
    /// The tmd:SerialPortType value.
    pub fn as_str(self) -> &'static str {
        match self {
            SerialKind::Rs232 => "RS232",
            SerialKind::Rs422HalfDuplex => "RS422HalfDuplex",
            SerialKind::Rs422FullDuplex => "RS422FullDuplex",
            SerialKind::Rs485HalfDuplex => "RS485HalfDuplex",
            SerialKind::Rs485FullDuplex => "RS485FullDuplex",
            SerialKind::Generic => "Generic",
        }
    }

    /// The kind a tmd:SerialPortType value names.
    pub fn from_name(name: &str) -> Option<SerialKind> {
        [
            SerialKind::Rs232,
            SerialKind::Rs422HalfDuplex,
            SerialKind::Rs422FullDuplex,
            SerialKind::Rs485HalfDuplex,
            SerialKind::Rs485FullDuplex,
            SerialKind::Generic,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// One southbound link and its protocol settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Controller {
    /// Unique name from the mapping (`controllers.<name>`).
    pub name: String,
    /// The protocol and its settings, including every point the adapter must poll.
    pub link: Link,
}

/// A controller's protocol.
#[derive(Clone, Debug, PartialEq)]
pub enum Link {
    /// Modbus TCP or RTU; `points` lists every point of this controller.
    Modbus(ModbusConfig),
    /// A line protocol (an alarm panel's serial interface) over a serial port or TCP.
    Line(Box<railgate_adapters::line::LineLink>),
    /// Card readers: an OSDP bus, a serial Wiegand converter or Wiegand on GPIO lines.
    Readers(ReaderLink),
}

/// The electrical state a contact rests in (tt:DigitalIdleState / tt:RelayIdleState).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleState {
    /// The circuit is open when idle (normally open).
    Open,
    /// The circuit is closed when idle (normally closed).
    Closed,
}

impl IdleState {
    /// `open` / `closed`, as ONVIF writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdleState::Open => "open",
            IdleState::Closed => "closed",
        }
    }
}

/// tt:RelayMode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayMode {
    /// Returns to idle after `delay` by itself.
    Monostable,
    /// Stays where it was set.
    Bistable,
}

/// A digital input (tmd:GetDigitalInputs lists it by `token`).
///
/// The wire value is `true` when the contact is closed (after `invert`). The input is
/// *active* (LogicalState true) when its electrical state differs from `idle_state`.
#[derive(Clone, Debug, PartialEq)]
pub struct InputPoint {
    /// tt:ReferenceToken, unique among inputs.
    pub token: String,
    /// The controller it is read from.
    pub controller: String,
    /// The point the adapter reports (a bit: coil, discrete input, or register bit).
    pub point: PointId,
    /// Flip the wire value (for inputs wired so that `1` means open).
    pub invert: bool,
    /// A change counts only once the new value has held this long (zero: no debounce).
    pub debounce: Duration,
    /// The configured idle state (SetDigitalInputConfigurations may change it at run time).
    pub idle_state: IdleState,
}

/// A relay output (tds/tmd:GetRelayOutputs lists it by `token`).
///
/// The wire value `true` energises the relay (its contact closes), after `invert`. An
/// *active* relay is in the opposite electrical state to `idle_state`.
#[derive(Clone, Debug, PartialEq)]
pub struct RelayPoint {
    /// tt:ReferenceToken, unique among relays.
    pub token: String,
    /// The controller it is written to.
    pub controller: String,
    /// The point written (a coil or a holding-register bit).
    pub write: PointId,
    /// The point read back for the actual state; equal to `write` unless the mapping names a
    /// separate feedback point.
    pub read: PointId,
    /// Flip the wire value.
    pub invert: bool,
    /// Configured mode (SetRelayOutputSettings may change it at run time).
    pub mode: RelayMode,
    /// Monostable hold time.
    pub delay: Duration,
    /// Configured idle state.
    pub idle_state: IdleState,
}

/// A wire type for a value read from registers or bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    /// One bit (coil, discrete input, or register bit).
    Bool,
    /// One register, unsigned.
    U16,
    /// One register, two's complement.
    I16,
    /// Two registers, unsigned.
    U32,
    /// Two registers, two's complement.
    I32,
    /// Two registers, IEEE 754 single precision.
    F32,
}

impl WireType {
    /// Registers this type occupies (bits count as 1).
    pub fn registers(self) -> u16 {
        match self {
            WireType::Bool | WireType::U16 | WireType::I16 => 1,
            WireType::U32 | WireType::I32 | WireType::F32 => 2,
        }
    }
}

/// Byte order of a 32-bit value, named by where bytes A (most significant) to D land on the
/// wire: `ABCD` is big-endian (Modbus's own order), `CDAB` swaps the two registers, `BADC`
/// swaps the bytes inside each register, `DCBA` is little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ByteOrder {
    /// Big-endian, high word first.
    #[default]
    Abcd,
    /// Low word first (word swap).
    Cdab,
    /// Bytes swapped inside each register.
    Badc,
    /// Little-endian.
    Dcba,
}

/// A bit field cut out of an integer value: `(raw >> shift) & ((1 << width) - 1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitField {
    /// Least significant bit of the field.
    pub shift: u8,
    /// Width in bits (1–32).
    pub width: u8,
}

/// How a raw reading becomes the published value.
#[derive(Clone, Debug, PartialEq)]
pub struct Decode {
    /// The wire type.
    pub wire: WireType,
    /// Byte order (32-bit types only; `Abcd` otherwise).
    pub order: ByteOrder,
    /// A field of the integer (applied before map, scale and offset).
    pub bits: Option<BitField>,
    /// `published = raw * scale + offset` (numeric values without a map).
    pub scale: f64,
    /// See `scale`.
    pub offset: f64,
    /// Enumeration: raw integer → published text (and back, for writes). When present, the
    /// value is published as text and raw values not in the map are published as their number.
    pub map: Option<BTreeMap<i64, String>>,
}

impl Decode {
    /// The raw value as read: no bit field, scale 1, offset 0, no map.
    pub fn raw(wire: WireType, order: ByteOrder) -> Decode {
        Decode {
            wire,
            order,
            bits: None,
            scale: 1.0,
            offset: 0.0,
            map: None,
        }
    }
}

/// The XML Schema type a published data item is declared with in GetEventProperties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    /// xs:boolean
    Boolean,
    /// xs:int
    Int,
    /// xs:float
    Float,
    /// xs:double
    Double,
    /// xs:string
    String,
}

impl ItemType {
    /// The QName, e.g. `xs:float`.
    pub fn qname(self) -> &'static str {
        match self {
            ItemType::Boolean => "xs:boolean",
            ItemType::Int => "xs:int",
            ItemType::Float => "xs:float",
            ItemType::Double => "xs:double",
            ItemType::String => "xs:string",
        }
    }
}

/// A topic, by namespace URI and path, e.g. `http://www.onvif.org/ver10/topics` +
/// `Monitoring/BatteryCapacity` (written `tns1:Monitoring/BatteryCapacity` in YAML).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName {
    /// The namespace URI of the topic's root.
    pub namespace: String,
    /// Slash-separated path below the root.
    pub path: String,
}

/// A fixed SimpleItem (source or key) with its declared type.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedItem {
    /// Item name.
    pub name: String,
    /// Declared type.
    pub ty: ItemType,
    /// The value every event of this point carries.
    pub value: String,
}

/// What an event of a value point looks like.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSpec {
    /// The topic.
    pub topic: TopicName,
    /// Source items (fixed per point).
    pub source: Vec<FixedItem>,
    /// Key items (fixed per point).
    pub key: Vec<FixedItem>,
    /// The name of the data item carrying the value (e.g. `Value`, `State`).
    pub data_name: String,
    /// Its declared type.
    pub data_type: ItemType,
    /// Whether events are property events (Initialized/Changed/Deleted) or plain ones.
    pub property: bool,
}

/// A value read from a controller and published as events.
#[derive(Clone, Debug, PartialEq)]
pub struct ValuePoint {
    /// Unique name from the mapping.
    pub name: String,
    /// The controller it is read from.
    pub controller: String,
    /// The point the adapter reports.
    pub point: PointId,
    /// How to turn the raw reading into the published value.
    pub decode: Decode,
    /// Numeric values: publish only when the value moved by more than this since the last
    /// published value.
    pub deadband: Option<f64>,
    /// Republish the current value this often even without a change.
    pub heartbeat: Option<Duration>,
    /// The event it becomes.
    pub event: EventSpec,
}

/// An event point: every occurrence its adapter reports as a [`railgate_adapters::Value::Record`]
/// (a card read, a panel's event frame) is published as a plain event, its data items taken
/// from the occurrence's named fields.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPoint {
    /// Unique name from the mapping (a reader's token, an event rule's name).
    pub name: String,
    /// The controller it comes from.
    pub controller: String,
    /// The point the adapter reports its occurrences on.
    pub point: PointId,
    /// The event each occurrence becomes.
    pub event: RecordEvent,
}

/// What an event of a record point looks like: always a plain event (each occurrence is
/// news; there is no state to initialise).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordEvent {
    /// The topic.
    pub topic: TopicName,
    /// Source items (fixed per point).
    pub source: Vec<FixedItem>,
    /// Key items (fixed per point).
    pub key: Vec<FixedItem>,
    /// Data items, in order, each from a field of the occurrence.
    pub data: Vec<RecordItem>,
}

/// A data item of a record event.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordItem {
    /// The SimpleItem's name.
    pub name: String,
    /// Its declared type: an occurrence whose field is not a valid lexical form of it is
    /// rejected.
    pub ty: ItemType,
    /// The occurrence's field it is taken from. An occurrence without it is rejected.
    pub field: String,
}

/// A raw value written by an auxiliary command.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteValue {
    /// A coil or register bit.
    Bool(bool),
    /// A whole register.
    U16(u16),
}

/// A SendAuxiliaryCommand string and the write it causes.
#[derive(Clone, Debug, PartialEq)]
pub struct AuxCommand {
    /// The exact string clients send (and GetCapabilities lists), e.g. `tt:Arm|Partition1`.
    pub command: String,
    /// The controller written to.
    pub controller: String,
    /// The point written.
    pub point: PointId,
    /// The value written.
    pub value: WriteValue,
}

/// A card-reader link: its transport and its readers.
#[derive(Clone, Debug, PartialEq)]
pub struct ReaderLink {
    /// How the readers are reached.
    pub transport: ReaderTransport,
    /// The readers, in file order (one on a Wiegand link).
    pub readers: Vec<Reader>,
}

/// How card readers are reached.
#[derive(Clone, Debug, PartialEq)]
pub enum ReaderTransport {
    /// An OSDP bus; the gateway is the control panel.
    Osdp {
        /// The serial device.
        device: PathBuf,
        /// Baud rate (one of `railgate_adapters::osdp::BAUD_RATES`).
        baud: u32,
        /// The port's kernel RS-485 mode.
        rs485: Rs485Mode,
    },
    /// A serial Wiegand converter (8N1), one line per read.
    WiegandSerial {
        /// The serial device.
        device: PathBuf,
        /// Speed (8N1) and the port's kernel RS-485 mode.
        line: LineSettings,
        /// How the number is written, and whether it includes the parity bits.
        ascii: railgate_adapters::wiegand::ascii::AsciiConfig,
    },
    /// Wiegand D0/D1 on two lines of a GPIO character device.
    WiegandGpio {
        /// The chip, e.g. `/dev/gpiochip0`.
        chip: PathBuf,
        /// D0's line offset.
        d0: u32,
        /// D1's line offset.
        d1: u32,
        /// Silence that ends a frame.
        frame_gap: Duration,
        /// Edges closer than this are noise.
        min_interval: Duration,
    },
}

/// How an OSDP reader's secure channel is keyed (the gateway turns it into
/// `railgate_adapters::osdp::SecureChannel`, placing install-mode keys in its data folder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderSecure {
    /// Plain text.
    Off,
    /// Install a fresh key on first contact; kept in `<data>/osdp/<controller>-<address>.key`.
    Install,
    /// A key the integrator gives, read from this file (32 hex digits).
    KeyFile(PathBuf),
}

/// One card reader.
#[derive(Clone, Debug, PartialEq)]
pub struct Reader {
    /// Its token (the `Reader` source item).
    pub token: String,
    /// Its OSDP address (0 on a Wiegand link).
    pub address: u8,
    /// The Wiegand format its raw reads are decoded with.
    pub format: railgate_adapters::wiegand::Format,
    /// OSDP: the secure channel (`Off` on a Wiegand link).
    pub secure: ReaderSecure,
    /// The point its card reads are reported on (`Value::Record`).
    pub card_point: PointId,
    /// The point its keypad input is reported on (`Value::Record`, field `Keys`), OSDP only.
    pub keypad_point: Option<PointId>,
    /// OSDP: its tamper state (`Value::Bool`, true = tampered).
    pub tamper_point: Option<PointId>,
    /// OSDP: its power state (`Value::Bool`, true = power failure).
    pub power_point: Option<PointId>,
    /// OSDP: its LED as a relay: the point written (`Value::Bool`) and what active means.
    pub led: Option<ReaderLed>,
}

/// A reader LED driven as a relay: active shows `color` steadily (and sounds the buzzer
/// when `buzzer`), inactive turns both off.
#[derive(Clone, Debug, PartialEq)]
pub struct ReaderLed {
    /// The point the relay writes and reads back.
    pub point: PointId,
    /// The colour while active.
    pub color: railgate_adapters::osdp::LedColor,
    /// Whether the buzzer sounds while active.
    pub buzzer: bool,
}
