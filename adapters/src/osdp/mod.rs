//! OSDP (IEC 60839-11-5): the control-panel (CP) driver for RS-485 card readers, on the
//! reference C library through the `libosdp` crate (feature `osdp`, on by default).
//!
//! ```text
//!  BusConfig ─► OsdpBus::new ─► (OsdpBus, OsdpHandle)
//!  OsdpBus::run(reports, stop): one thread owns the port and the library's ControlPanel
//!     ├─► OsdpReport::{Online, Offline, KeyInstalled, CardRead, Keypad, Tamper, Power, Inputs}
//!     ◄── OsdpHandle::command(pd, OsdpCommand::{Led, Buzzer, Output}) → answered after ACK/NAK
//! ```
//!
//! - [`config`] (plain data, always compiled): the bus (device, baud), its readers (address,
//!   name, [`SecureChannel`]), [`Timings`].
//! - [`command`] (plain data, always compiled): [`OsdpReport`], [`OsdpCommand`],
//!   [`CommandError`]. Card reads that arrive as raw bits (`osdp_RAW`) are
//!   [`crate::wiegand::Bits`] (built with `Bits::from_bytes`), so the reader's Wiegand format
//!   decodes them later (`wiegand::decode`).
//! - `bus.rs` [`OsdpBus`], [`OsdpHandle`]: the runtime. `channel.rs`: the serial port as the
//!   library's channel, with a tap. `wire.rs`: OSDP frame headers read off the tap. `keys.rs`:
//!   key files.
//!
//! **Why the library.** OSDP's secure channel (AES-128 session keys, MACs chained across
//! frames, the SCBK-D install dance), sequence numbers, retries and multi-drop scheduling are
//! where hand-written OSDP stacks fail interoperability; libosdp is the reference
//! implementation readers are tested against, and the same C core runs the PyPI `libosdp` PD
//! in the interop test.
//!
//! **What the library's safe API does not say, and how the driver learns it.** `libosdp` 0.2
//! exposes neither the command-completion nor the PD-status notifications of the C library,
//! and its refresh timings are C build-time constants. The channel therefore splits the bytes
//! it carries into frames (`wire.rs`: headers and CRC only, which are clear text also under
//! the secure channel) so the driver knows *when each reader last answered* and *whether a
//! command was acknowledged* (`osdp_ACK` / `osdp_OSTATR` or `osdp_NAK` to the frame that
//! carried it).
//!
//! **Offline and retry.** A reader is reported [`OsdpReport::Offline`] when the driver has
//! seen no valid frame from it for [`Timings::offline_after`] (1 s by default: the library
//! polls every 50 ms), or when the library takes it offline, whichever is first. The library
//! then waits `OSDP_ONLINE_RETRY_WAIT_MAX_MS` before it talks to the reader again: 300 s by
//! default, fixed, no run-time setting. This repository builds it with 1 s, and with
//! `OSDP_CMD_MAX_RETRIES=2`, `OSDP_CMD_RETRY_WAIT_MS=200` (the library's own verdict after
//! ~1 s instead of ~8 s), through `CFLAGS` in `.cargo/config.toml`. A `CFLAGS` set in the
//! environment replaces that one (the multi-drop interop test then fails). As a safety net
//! the driver watches what the library sends: when every reader of a bus is offline and the
//! library has sent none of them anything for 3 s, it rebuilds the control panel (which
//! retries at once); a reader beside an online one is only logged, since a rebuild would
//! reset the online readers too.
//!
//! **Secure channel.** [`SecureChannel::Install`] while its key file is missing: a fresh key
//! from the operating system (`getrandom`), kept as `<key file>.pending` (0600, written
//! atomically) before it is offered; the library offers it, falls back to SCBK-D (which a
//! reader in install mode accepts), sends it with `osdp_KEYSET` and restarts the secure
//! channel with it; once that is up the pending file is renamed to the key file and
//! [`OsdpReport::KeyInstalled`] is reported. With a key file (or [`SecureChannel::Key`]) the
//! reader is set up with `EnforceSecure`: that key only, no SCBK-D, no plain text. In install
//! mode the library cannot enforce that (it would refuse SCBK-D too) and runs a reader that
//! takes neither key in plain text; the driver reports such a reader offline and drops what
//! it sends. Keys are never logged ([`Scbk`]'s `Debug` prints `***`); the library logs none.

//!
//! **Behind the [`crate::Adapter`] seam**: [`OsdpAdapter`] (`adapter.rs`) runs one
//! [`OsdpBus`] per port (the library wants one control panel owning every reader of a
//! channel) as one controller; its link is up while every reader is online. Card reads are
//! decoded with the reader's format into `Value::Record`s, keypad keys too; tamper and power
//! are `Value::Bool` points; an LED point's `Value::Bool` write becomes `osdp_LED` (and
//! `osdp_BUZ`), answered after the ACK. Structured writes (LED patterns, tone lengths,
//! temporary durations) still do not fit one `Value` per point.

pub mod command;
pub mod config;

#[cfg(feature = "osdp")]
mod adapter;
#[cfg(feature = "osdp")]
mod bus;
#[cfg(feature = "osdp")]
mod channel;
#[cfg(feature = "osdp")]
mod keys;
#[cfg(feature = "osdp")]
mod wire;

#[cfg(feature = "osdp")]
pub use adapter::{LedPoint, OsdpAdapter, OsdpAdapterConfig, ReaderPoints, card_record};
#[cfg(feature = "osdp")]
pub use bus::{OsdpBus, OsdpError, OsdpHandle};
pub use command::{
    Buzzer, CommandError, Led, LedAction, LedColor, LedPattern, OsdpCommand, OsdpReport, Output,
    OutputAction, PdIndex, RawFormat,
};
pub use config::{BusConfig, PdConfig, Scbk, SecureChannel, Timings};
