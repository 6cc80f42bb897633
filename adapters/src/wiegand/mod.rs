//! Wiegand: frames, formats and the three ways a read arrives. Plain data, always compiled
//! (no tokio, no runtime feature): the GPIO, serial-converter and OSDP adapters and the
//! mapping compiler all use it.
//!
//! ```text
//!  GPIO D0/D1 edges ──► edges::Framer ──┐
//!  converter line ───► ascii::parse_line ┼──► Bits ──► decode(&bits, format) ──► Card
//!  OSDP osdp_RAW ────► Bits::from_bytes ─┘                 (length, parity, fields)
//! ```
//!
//! - [`Bits`] (`bits.rs`): a frame of up to 128 bits, the first sent most significant.
//! - [`Format`] (`format.rs`): the format table, one row of data per format (length, parity
//!   bits with what they cover, facility and card-number fields), with its sources. The
//!   integrator picks the format per reader, by name (`"h10301"`, ...): the length alone does
//!   not identify one. [`Format::Raw`] takes any frame as a number.
//! - [`decode`] / [`encode`] (`decode.rs`): frame to [`Card`] and back, [`WiegandError`]
//!   (wrong length, which parity bit failed).
//! - [`edges`]: the GPIO edge framer, a pure state machine fed kernel-timestamped edges and
//!   told the time; drops noisy, short and long frames and counts why.
//! - [`ascii`]: one line of a serial converter's output (hex or decimal, with or without
//!   parity) back into the whole frame.

pub mod ascii;
mod bits;
#[cfg(feature = "runtime")]
mod converter;
mod decode;
#[cfg(feature = "runtime")]
mod edge_adapter;
pub mod edges;
mod format;
#[cfg(feature = "gpio")]
mod gpio;

#[cfg(test)]
mod tests;

pub use bits::{Bits, BitsError};
#[cfg(feature = "runtime")]
pub use converter::{ConverterAdapter, ConverterConfig, line_record};
pub use decode::{Card, EncodeError, WiegandError, decode, encode};
#[cfg(feature = "runtime")]
pub use edge_adapter::{EdgeAdapter, EdgeConfig, EdgeSource, OpenEdges, Recording, Recordings};
pub use format::{Field, Format, Layout, Parity, ParityKind, UnknownFormat};
#[cfg(feature = "gpio")]
pub use gpio::{GpioEdges, GpioSource};
