//! Raw serial ports: a port the mapping exposes for pass-through commands (ONVIF
//! SendReceiveSerialCommand), owned by one task that serves one exchange at a time.
//!
//! The line settings ([`LineSettings`]) are plain data, shared with the mapping compiler; the
//! port task ([`PortTask`], [`PortHandle`], feature `runtime`) owns the device. A port that a
//! Modbus RTU controller uses belongs to that controller's bus (`modbus::BusTask`) and never
//! gets a port task: raw bytes in the middle of the bus's frames would corrupt them.

#[cfg(feature = "runtime")]
use std::path::Path;

use crate::modbus::Parity;

#[cfg(feature = "runtime")]
mod port;

#[cfg(feature = "runtime")]
pub use port::{
    DEFAULT_WAIT, Exchange, MAX_DELIMITER, MAX_READ, MAX_WAIT, PortError, PortHandle, PortTask,
    Until, exchange,
};

/// The settings of a serial line: speed and character framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineSettings {
    /// Bits per second.
    pub baud: u32,
    /// Parity.
    pub parity: Parity,
    /// Data bits per character (5 to 8).
    pub data_bits: u8,
    /// Stop bits (1 or 2).
    pub stop_bits: u8,
}

/// The speeds offered for a raw port (GetSerialPortConfigurationOptions): the standard
/// termios rates from 300 to 230400 bit/s, which every Linux serial driver accepts.
pub const STANDARD_BAUDS: &[u32] = &[
    300, 600, 1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400,
];

/// The data bits a raw port accepts.
pub const DATA_BITS: &[u8] = &[5, 6, 7, 8];

/// The stop bits a raw port accepts.
pub const STOP_BITS: &[u8] = &[1, 2];

/// The parities a raw port accepts (mark and space are not offered by the serial driver
/// interface railgate uses).
pub const PARITIES: &[Parity] = &[Parity::None, Parity::Even, Parity::Odd];

impl LineSettings {
    /// Why these settings cannot be put on a port, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.baud == 0 {
            return Err("baud must be more than 0".into());
        }
        if !DATA_BITS.contains(&self.data_bits) {
            return Err(format!("data bits must be 5 to 8, not {}", self.data_bits));
        }
        if !STOP_BITS.contains(&self.stop_bits) {
            return Err(format!("stop bits must be 1 or 2, not {}", self.stop_bits));
        }
        Ok(())
    }

    /// The tokio-serial builder of `device` with these settings (no flow control).
    #[cfg(feature = "runtime")]
    pub fn builder(&self, device: &Path) -> Result<tokio_serial::SerialPortBuilder, String> {
        self.check()?;
        Ok(tokio_serial::new(device.to_string_lossy(), self.baud)
            .data_bits(data_bits(self.data_bits)?)
            .stop_bits(stop_bits(self.stop_bits)?)
            .parity(parity(self.parity))
            .flow_control(tokio_serial::FlowControl::None))
    }
}

#[cfg(feature = "runtime")]
pub(crate) fn data_bits(bits: u8) -> Result<tokio_serial::DataBits, String> {
    Ok(match bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        8 => tokio_serial::DataBits::Eight,
        other => return Err(format!("data bits must be 5 to 8, not {other}")),
    })
}

#[cfg(feature = "runtime")]
pub(crate) fn stop_bits(bits: u8) -> Result<tokio_serial::StopBits, String> {
    Ok(match bits {
        1 => tokio_serial::StopBits::One,
        2 => tokio_serial::StopBits::Two,
        other => return Err(format!("stop bits must be 1 or 2, not {other}")),
    })
}

#[cfg(feature = "runtime")]
pub(crate) fn parity(p: Parity) -> tokio_serial::Parity {
    match p {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    }
}
