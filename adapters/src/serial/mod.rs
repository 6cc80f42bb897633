//! Serial ports: the line settings every serial adapter uses, the one way a port is opened,
//! and raw ports that the mapping exposes for pass-through commands (ONVIF
//! SendReceiveSerialCommand).
//!
//! - [`LineSettings`] (plain data, shared with the mapping compiler): speed, character
//!   framing and the kernel RS-485 mode ([`Rs485`]).
//! - [`open`] / [`open_blocking`] (feature `runtime`): the only places a serial device is
//!   opened. The Modbus RTU bus, the raw port task, the line-protocol adapter, the serial
//!   Wiegand converter and the OSDP channel all open their ports here, so every one of them
//!   gets the same settings, the same RS-485 mode, exclusive access and an empty input buffer.
//! - [`PortTask`] / [`PortHandle`] (feature `runtime`): the task that owns a raw port and
//!   serves one exchange at a time. A port that a Modbus RTU controller uses belongs to that
//!   controller's bus (`modbus::BusTask`) and never gets a port task: raw bytes in the middle
//!   of the bus's frames would corrupt them.
//!
//! The kernel RS-485 mode (`TIOCSRS485`) is set through the `serial2` crate, which owns the
//! one `ioctl` it takes (this crate forbids `unsafe`). The device is opened by `serial2`
//! just long enough to set the mode, which the kernel keeps on the UART, and then by
//! tokio-serial for the I/O; tokio-serial's exclusive lock would refuse the second open the
//! other way round.

#[cfg(feature = "runtime")]
use std::path::Path;
use std::time::Duration;

/// Serial parity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parity {
    /// No parity bit.
    None,
    /// Even parity (the Modbus RTU default).
    Even,
    /// Odd parity.
    Odd,
}

#[cfg(feature = "runtime")]
mod port;

#[cfg(feature = "runtime")]
pub use port::{
    DEFAULT_WAIT, Exchange, MAX_DELIMITER, MAX_READ, MAX_WAIT, PortError, PortHandle, PortTask,
    Until, exchange,
};

/// The settings of a serial line: speed, character framing and direction control.
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
    /// The kernel's RS-485 mode, for a UART whose transceiver the driver switches with RTS.
    pub rs485: Rs485Mode,
}

/// What is done to a port's kernel RS-485 mode when it is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rs485Mode {
    /// Left as it is: RS-232, or a USB adapter that switches direction itself (most do).
    #[default]
    Keep,
    /// Switched off (the port was switched to RS-232).
    Off,
    /// Switched on with these settings.
    On(Rs485),
}

/// The kernel RS-485 mode of a UART (`struct serial_rs485`, set with `TIOCSRS485`): the
/// driver raises RTS to enable the transceiver's driver while sending and drops it after.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rs485 {
    /// RTS is low while sending and high after (`SER_RS485_RTS_ON_SEND` clear,
    /// `SER_RS485_RTS_AFTER_SEND` set); the default is high while sending.
    pub rts_active_low: bool,
    /// Wait between raising RTS and the first bit (at most [`RS485_MAX_DELAY`]).
    pub delay_before_send: Duration,
    /// Wait between the last bit and dropping RTS (at most [`RS485_MAX_DELAY`]).
    pub delay_after_send: Duration,
    /// Four wires: the receiver stays on while sending (`SER_RS485_RX_DURING_TX`). Two-wire
    /// (half-duplex) buses leave it off, or the port would read back its own frames.
    pub full_duplex: bool,
    /// Switch the transceiver's bus termination on, where the hardware has one
    /// (`SER_RS485_TERMINATE_BUS`).
    pub terminate_bus: bool,
}

impl std::fmt::Display for Rs485Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rs485Mode::Keep => f.write_str("left as it is"),
            Rs485Mode::Off => f.write_str("kernel RS-485 mode off"),
            Rs485Mode::On(r) => write!(
                f,
                "kernel RS-485 mode on (RTS {} while sending, {} ms before, {} ms after, {} duplex{})",
                if r.rts_active_low { "low" } else { "high" },
                r.delay_before_send.as_millis(),
                r.delay_after_send.as_millis(),
                if r.full_duplex { "full" } else { "half" },
                if r.terminate_bus {
                    ", bus terminated"
                } else {
                    ""
                },
            ),
        }
    }
}

/// The longest RTS delay the kernel accepts (it clamps longer ones to this).
pub const RS485_MAX_DELAY: Duration = Duration::from_millis(100);

impl Rs485 {
    /// Why these settings cannot be put on a port, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        for (name, d) in [
            ("delay_before_send", self.delay_before_send),
            ("delay_after_send", self.delay_after_send),
        ] {
            if d > RS485_MAX_DELAY {
                return Err(format!(
                    "RS-485 {name} is {} ms; the kernel allows at most {} ms",
                    d.as_millis(),
                    RS485_MAX_DELAY.as_millis()
                ));
            }
            if d.subsec_nanos() % 1_000_000 != 0 {
                return Err(format!(
                    "RS-485 {name} must be whole milliseconds (the kernel's unit)"
                ));
            }
        }
        Ok(())
    }
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
    /// 8 data bits, no parity, 1 stop bit at `baud`, the port's RS-485 mode left alone.
    pub fn eight_n_one(baud: u32) -> LineSettings {
        LineSettings {
            baud,
            parity: Parity::None,
            data_bits: 8,
            stop_bits: 1,
            rs485: Rs485Mode::Keep,
        }
    }

    /// Why these settings cannot be put on a port, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if let Rs485Mode::On(rs485) = &self.rs485 {
            rs485.check()?;
        }
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

    /// The tokio-serial builder of `device` with these settings (no flow control). Opening
    /// goes through [`open`] or [`open_blocking`], which also set the RS-485 mode.
    #[cfg(feature = "runtime")]
    fn builder(&self, device: &Path) -> Result<tokio_serial::SerialPortBuilder, String> {
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

/// Opens `device` with `line` for async I/O: the RS-485 mode first (when set), then the port
/// itself (exclusive: a second opener is refused), with whatever it had received discarded.
/// The error names the device and what failed.
#[cfg(feature = "runtime")]
pub fn open(device: &Path, line: &LineSettings) -> Result<tokio_serial::SerialStream, String> {
    use tokio_serial::SerialPort;
    let builder = line.builder(device)?;
    set_rs485(device, line.rs485)?;
    let port = tokio_serial::SerialStream::open(&builder)
        .map_err(|e| format!("open {}: {e}", device.display()))?;
    let _ = port.clear(tokio_serial::ClearBuffer::All);
    Ok(port)
}

/// Opens `device` with `line` for blocking I/O whose reads and writes wait at most `wait`
/// (a C library's transport callbacks); otherwise as [`open`].
#[cfg(feature = "runtime")]
pub fn open_blocking(
    device: &Path,
    line: &LineSettings,
    wait: Duration,
) -> Result<Box<dyn tokio_serial::SerialPort>, String> {
    let builder = line.builder(device)?.timeout(wait);
    set_rs485(device, line.rs485)?;
    let port = builder
        .open()
        .map_err(|e| format!("open {}: {e}", device.display()))?;
    let _ = port.clear(tokio_serial::ClearBuffer::All);
    Ok(port)
}

/// Puts `mode` on `device` (nothing for [`Rs485Mode::Keep`]).
#[cfg(feature = "runtime")]
fn set_rs485(device: &Path, mode: Rs485Mode) -> Result<(), String> {
    let (mode, off) = match mode {
        Rs485Mode::Keep => return Ok(()),
        Rs485Mode::Off => (serial2::rs4xx::TransceiverMode::Default, true),
        Rs485Mode::On(rs485) => (rs485.kernel_mode().into(), false),
    };
    let failed = |e: std::io::Error| {
        format!(
            "kernel RS-485 mode on {}: {e} (the driver of this port has no RS-485 mode; a USB \
             adapter that switches direction itself needs no `rs485` setting)",
            device.display()
        )
    };
    let port = serial2::SerialPort::open(device, serial2::KeepSettings)
        .map_err(|e| format!("open {}: {e}", device.display()))?;
    match port.set_rs4xx_mode(mode) {
        // A driver without an RS-485 mode is in RS-232 already.
        Err(e) if off && e.raw_os_error() == Some(libc::ENOTTY) => Ok(()),
        result => result.map_err(failed),
    }
}

#[cfg(feature = "runtime")]
impl Rs485 {
    /// The `serial2` form of these settings.
    fn kernel_mode(&self) -> serial2::rs4xx::Rs485Config {
        let mut c = serial2::rs4xx::Rs485Config::new();
        c.set_invert_rts(self.rts_active_low);
        c.set_delay_before_send(self.delay_before_send);
        c.set_delay_after_send(self.delay_after_send);
        c.set_full_duplex(self.full_duplex);
        c.set_bus_termination(self.terminate_bus);
        c
    }
}
