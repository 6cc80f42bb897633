//! What the OSDP driver is told: one RS-485 bus, the readers (peripheral devices, PDs) on it,
//! how each one's secure channel is keyed, and the timings. Plain data, always compiled (the
//! mapping compiler will fill it in); [`BusConfig::check`] says what cannot work.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::serial::{LineSettings, Rs485Mode};

/// The highest PD address (127 is the broadcast address, never a reader's).
pub const MAX_ADDRESS: u8 = 126;

/// The most PDs the library drives on one bus.
pub const MAX_PDS: usize = 126;

/// The longest reader name the library keeps (longer names are refused by [`BusConfig::check`]
/// rather than cut).
pub const MAX_NAME: usize = 15;

/// A secure channel base key (SCBK): 16 bytes. Its [`Debug`] prints `Scbk(***)`, never the
/// key.
#[derive(Clone, PartialEq, Eq)]
pub struct Scbk(pub [u8; 16]);

impl fmt::Debug for Scbk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scbk(***)")
    }
}

impl Scbk {
    /// Parses 32 hex digits (surrounding whitespace ignored), as the key file holds them.
    pub fn from_hex(text: &str) -> Option<Scbk> {
        let text = text.trim();
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut key = [0u8; 16];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Scbk(key))
    }

    /// The key as 32 lower-case hex digits (what the key file holds; never log it).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How a reader's secure channel is keyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecureChannel {
    /// Plain text: no secure channel (only for readers that cannot do it; everything on the
    /// wire, card numbers included, can be read by anyone on the bus).
    Off,
    /// Install mode on first contact: while `key_file` does not exist, the driver makes a fresh
    /// random key, offers it first and falls back to the default key SCBK-D (which a reader
    /// out of the box accepts), then sends the fresh key with `osdp_KEYSET`; once the
    /// secure channel is up with the fresh key it is stored in `key_file` (mode 0600). Every
    /// later start uses the stored key only, with SCBK-D refused (install mode off). A reader
    /// that takes neither key (keyed by another panel) is not used in plain text: it is
    /// reported offline, and offered the secure channel again every 30 s.
    Install {
        /// Where the installed key is kept (in the data folder).
        key_file: PathBuf,
    },
    /// A key given by the integrator (the reader was keyed elsewhere); SCBK-D is refused.
    Key(Scbk),
}

/// One reader (PD) on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdConfig {
    /// Its OSDP address, 0–[`MAX_ADDRESS`].
    pub address: u8,
    /// Its name (the mapping's reader token): in reports and logs. At most [`MAX_NAME`]
    /// bytes.
    pub name: String,
    /// How its secure channel is keyed.
    pub secure: SecureChannel,
}

impl PdConfig {
    /// A reader at `address` called `name`, keyed by `secure`.
    pub fn new(address: u8, name: impl Into<String>, secure: SecureChannel) -> PdConfig {
        PdConfig {
            address,
            name: name.into(),
            secure,
        }
    }
}

/// How often the driver works the bus and how fast it gives up on a silent reader.
///
/// The library's own timings (how often it polls, how long it waits for an answer, how many
/// times it retries, how long it waits before it contacts an offline reader again) are
/// build-time constants of the C library; this repository sets them in `.cargo/config.toml`
/// (see the module documentation, "Offline and retry").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// How often the driver calls the library's `refresh` (the library wants at least every
    /// 50 ms; the default is 10 ms).
    pub refresh: Duration,
    /// A reader the driver has heard nothing valid from for this long is reported offline
    /// (even if the library is still retrying). Default 1 s: twenty poll intervals.
    pub offline_after: Duration,
    /// How long a command (LED, buzzer, output) may wait for the reader's acknowledgement
    /// before it is answered as failed. Default 3 s.
    pub command_timeout: Duration,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            refresh: Duration::from_millis(10),
            offline_after: Duration::from_secs(1),
            command_timeout: Duration::from_secs(3),
        }
    }
}

/// One RS-485 bus and the readers on it: what [`super::OsdpBus`] runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusConfig {
    /// The bus name (logs).
    pub name: String,
    /// The serial device, e.g. `/dev/ttyUSB0` or a pseudo-terminal.
    pub device: PathBuf,
    /// Baud rate: 9600 (the OSDP default), 19200, 38400, 57600, 115200 or 230400.
    pub baud: u32,
    /// The port's kernel RS-485 mode (a UART whose transceiver the driver switches).
    pub rs485: Rs485Mode,
    /// The readers, in the order the reports number them ([`super::PdIndex`]).
    pub pds: Vec<PdConfig>,
    /// Timings.
    pub timings: Timings,
}

/// The baud rates OSDP allows.
pub const BAUD_RATES: [u32; 6] = [9600, 19200, 38400, 57600, 115200, 230400];

impl BusConfig {
    /// A bus on `device` at `baud` with no readers yet and the default timings.
    pub fn new(name: impl Into<String>, device: impl Into<PathBuf>, baud: u32) -> BusConfig {
        BusConfig {
            name: name.into(),
            device: device.into(),
            baud,
            rs485: Rs485Mode::Keep,
            pds: Vec::new(),
            timings: Timings::default(),
        }
    }

    /// The line: 8N1 at the bus's speed, with its RS-485 mode.
    pub fn line(&self) -> LineSettings {
        LineSettings {
            rs485: self.rs485,
            ..LineSettings::eight_n_one(self.baud)
        }
    }

    /// Adds a reader.
    pub fn with_pd(mut self, pd: PdConfig) -> BusConfig {
        self.pds.push(pd);
        self
    }

    /// Every reason this configuration cannot work (empty: it can).
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !BAUD_RATES.contains(&self.baud) {
            problems.push(format!(
                "baud rate {} is not one OSDP allows ({BAUD_RATES:?})",
                self.baud
            ));
        }
        if let Err(e) = self.line().check() {
            problems.push(e);
        }
        if self.pds.is_empty() {
            problems.push("no reader on the bus".into());
        }
        if self.pds.len() > MAX_PDS {
            problems.push(format!(
                "{} readers on one bus, at most {MAX_PDS}",
                self.pds.len()
            ));
        }
        for (i, pd) in self.pds.iter().enumerate() {
            if pd.address > MAX_ADDRESS {
                problems.push(format!(
                    "reader {:?}: address {} is above {MAX_ADDRESS}",
                    pd.name, pd.address
                ));
            }
            if pd.name.is_empty() || pd.name.len() > MAX_NAME || pd.name.contains('\0') {
                problems.push(format!(
                    "reader {:?}: a name needs 1 to {MAX_NAME} bytes and no NUL",
                    pd.name
                ));
            }
            for other in &self.pds[..i] {
                if other.address == pd.address {
                    problems.push(format!(
                        "readers {:?} and {:?} share address {}",
                        other.name, pd.name, pd.address
                    ));
                }
                if other.name == pd.name {
                    problems.push(format!("two readers are called {:?}", pd.name));
                }
                if let (
                    SecureChannel::Install { key_file: a },
                    SecureChannel::Install { key_file: b },
                ) = (&other.secure, &pd.secure)
                    && a == b
                {
                    problems.push(format!(
                        "readers {:?} and {:?} share the key file {}",
                        other.name,
                        pd.name,
                        a.display()
                    ));
                }
            }
        }
        let t = &self.timings;
        if t.refresh.is_zero() || t.refresh > Duration::from_millis(50) {
            problems.push(format!(
                "refresh every {:?}: the library needs 1 to 50 ms",
                t.refresh
            ));
        }
        if t.offline_after < Duration::from_millis(250) {
            problems.push(format!(
                "offline after {:?}: less than 250 ms would take a reader that answers within \
                 the 200 ms OSDP allows for offline",
                t.offline_after
            ));
        }
        if t.command_timeout.is_zero() {
            problems.push("a command timeout of zero fails every command".into());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> BusConfig {
        BusConfig::new("door", "/dev/ttyUSB0", 9600)
            .with_pd(PdConfig::new(0, "front", SecureChannel::Off))
            .with_pd(PdConfig::new(
                1,
                "back",
                SecureChannel::Install {
                    key_file: "/var/lib/railgate/osdp-back.scbk".into(),
                },
            ))
    }

    #[test]
    fn a_plain_bus_passes() {
        assert_eq!(bus().check(), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_named() {
        let mut b = bus();
        b.baud = 12345;
        b.pds.push(PdConfig::new(1, "front", SecureChannel::Off));
        b.pds.push(PdConfig::new(
            127,
            "a-name-that-is-too-long",
            SecureChannel::Off,
        ));
        b.pds.push(PdConfig::new(
            9,
            "other",
            SecureChannel::Install {
                key_file: "/var/lib/railgate/osdp-back.scbk".into(),
            },
        ));
        b.timings.refresh = Duration::from_millis(80);
        let problems = b.check().join("\n");
        for needle in [
            "baud rate 12345",
            "share address 1",
            "two readers are called \"front\"",
            "address 127 is above 126",
            "a name needs 1 to 15 bytes",
            "share the key file",
            "refresh every 80ms",
        ] {
            assert!(problems.contains(needle), "{needle:?} not in\n{problems}");
        }
    }

    #[test]
    fn keys_parse_from_hex_and_never_print() {
        let key = Scbk::from_hex(" 000102030405060708090a0b0c0d0e0f\n").unwrap();
        assert_eq!(key.0[15], 15);
        assert_eq!(key.to_hex(), "000102030405060708090a0b0c0d0e0f");
        assert_eq!(format!("{key:?}"), "Scbk(***)");
        assert_eq!(format!("{:?}", SecureChannel::Key(key)), "Key(Scbk(***))");
        assert!(Scbk::from_hex("00").is_none());
        assert!(Scbk::from_hex("zz0102030405060708090a0b0c0d0e0f").is_none());
    }
}
