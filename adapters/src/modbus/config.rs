//! What the Modbus adapter is told: the link, and the points it must read and write.
//!
//! The mapping compiler (`railgate-mappings`) fills this in from the integrator's YAML.
//! Addresses here are **wire addresses** (the 0-based numbers in the PDU): the mapping's
//! `address_base` has already been applied.

use std::path::PathBuf;
use std::time::Duration;

use crate::point::PointId;
use crate::serial::LineSettings;

/// The four Modbus data tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Read/write bits (FC01 read, FC05/FC15 write).
    Coil,
    /// Read-only bits (FC02).
    DiscreteInput,
    /// Read/write 16-bit registers (FC03 read, FC06/FC16 write, FC22 mask write).
    Holding,
    /// Read-only 16-bit registers (FC04).
    Input,
}

impl Table {
    /// Whether this table holds bits (coils, discrete inputs) rather than registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::DiscreteInput)
    }

    /// Whether a master may write this table.
    pub fn is_writable(self) -> bool {
        matches!(self, Table::Coil | Table::Holding)
    }

    /// The function code that reads this table (FC01, FC02, FC03, FC04).
    pub fn read_function(self) -> u8 {
        match self {
            Table::Coil => 1,
            Table::DiscreteInput => 2,
            Table::Holding => 3,
            Table::Input => 4,
        }
    }

    /// The name used in the mapping language and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Table::Coil => "coil",
            Table::DiscreteInput => "discrete_input",
            Table::Holding => "holding",
            Table::Input => "input",
        }
    }
}

pub use crate::serial::Parity;

/// How to reach the controller.
#[derive(Clone, Debug, PartialEq)]
pub enum Transport {
    /// Modbus TCP (MBAP framing).
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port (502 by default in the mapping language).
        port: u16,
    },
    /// Modbus RTU over a serial line (RS-485 or RS-232).
    Rtu {
        /// The serial device, e.g. `/dev/ttyUSB0` or a pseudo-terminal.
        device: PathBuf,
        /// Speed, framing (Modbus RTU: 7 or 8 data bits) and RS-485 mode.
        line: LineSettings,
    },
}

/// One point on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct ModbusPoint {
    /// The id the gateway knows the point by; echoed in every [`crate::PointUpdate`].
    pub id: PointId,
    /// Which table.
    pub table: Table,
    /// The first (wire, 0-based) address.
    pub address: u16,
    /// How many bits or registers (1 for a coil or a u16; 2 for a u32/f32).
    pub count: u16,
    /// For a single bit inside a register (`table` Holding or Input, `count` 1): which bit,
    /// 0 = least significant. Reads then report [`crate::Value::Bool`], and writes change only
    /// this bit (FC22 mask write when `mask_write` is on, else read-modify-write).
    pub bit: Option<u8>,
    /// Whether the gateway will write this point.
    pub writable: bool,
    /// Whether every poll cycle reads this point. False for a write-only point (an auxiliary
    /// command's register): the adapter writes it but never reads it (devices often refuse
    /// reads of command registers), and to the planner its address is an unread one.
    pub polled: bool,
}

/// Retry and backoff policy of a link.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    /// First delay before reconnecting.
    pub initial: Duration,
    /// Largest delay; the delay doubles up to this, with ±20 % jitter.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Everything the Modbus adapter needs for one controller.
#[derive(Clone, Debug, PartialEq)]
pub struct ModbusConfig {
    /// The controller's name (from the mapping); used in logs and link events.
    pub name: String,
    /// How to reach it.
    pub transport: Transport,
    /// The unit id (slave address) 0–247; 255 or 1 for most TCP devices.
    pub unit: u8,
    /// Time between the starts of two poll cycles.
    pub poll_interval: Duration,
    /// How long to wait for one response.
    pub timeout: Duration,
    /// Extra attempts for a request that timed out, before the link is declared down.
    pub retries: u32,
    /// Most registers in one read request (the protocol allows 125).
    pub max_registers_per_request: u16,
    /// Most bits in one read request (the protocol allows 2000).
    pub max_bits_per_request: u16,
    /// Unread addresses a read may span to merge two blocks into one request. 0 (the default)
    /// merges only adjacent points: many devices refuse a read that covers an address they do
    /// not implement (exception 02), which would turn every point of the read Bad.
    pub max_gap: u16,
    /// Silence kept between two requests (RS-485 devices often need a few ms).
    pub inter_frame_delay: Duration,
    /// Whether the controller implements FC22 (mask write register).
    pub mask_write: bool,
    /// Reconnect policy.
    pub backoff: Backoff,
    /// The points to poll and write.
    pub points: Vec<ModbusPoint>,
}

impl ModbusConfig {
    /// A configuration with the defaults of the mapping language and no points.
    pub fn new(name: impl Into<String>, transport: Transport, unit: u8) -> ModbusConfig {
        ModbusConfig {
            name: name.into(),
            transport,
            unit,
            poll_interval: Duration::from_millis(200),
            timeout: Duration::from_millis(500),
            retries: 2,
            max_registers_per_request: 125,
            max_bits_per_request: 2000,
            max_gap: 0,
            inter_frame_delay: Duration::ZERO,
            mask_write: true,
            backoff: Backoff::default(),
            points: Vec::new(),
        }
    }
}
