//! Line protocols, declared: panels that print events and take commands as framed messages
//! on a serial line or a TCP stream, described in the mapping language alone.
//!
//! This is the pure codec core (no tokio, always compiled). The adapter feeds received bytes
//! to a [`Decoder`] and writes what [`LineProtocol::render`] gives; everything about a
//! particular panel is data ([`LineProtocol`]), filled in by the mapping compiler.
//!
//! - [`spec`]: [`Framing`] (delimiter, fixed length, start/end with escaping, length
//!   prefixed) and [`Checksum`] (algorithm, encoding, span, position). The words *frame*,
//!   *body* and *message* are defined there.
//! - [`framer`]: the streaming [`Framer`] (any chunking, resynchronises, drops oversize).
//! - [`checksum`]: the engines (sums, XOR, CRC-8/16 from the `crc` crate) and verify/insert.
//! - [`fields`]: named fields by regex over text, or by offset/type/byte order over binary.
//! - [`rules`]: [`Rule`]s turn a message into [`Outcome`]s (input state, value, event,
//!   ack/nak); a message no rule matches is unmatched.
//! - [`command`]: [`CommandTemplate`]s and [`command::encode`] (checksum and framing added).
//! - [`decoder`]: framer → checksum → rules, with [`Counters`].
//! - [`protocol`]: [`LineProtocol`], the whole description, and [`Supervision`].
//!
//! Dropped input (bad checksums, unmatched frames, oversize frames, garbage) is counted and
//! returned as [`Decoded::BadChecksum`] / [`Decoded::Unmatched`] for the adapter to log at
//! DEBUG; it never becomes an event. No function here panics on any input, whatever the
//! description (`tests/fuzz/fuzz_targets/line_framer.rs`).

#[cfg(feature = "runtime")]
pub mod adapter;
pub mod checksum;
pub mod command;
mod counters;
pub mod decoder;
pub mod fields;
pub mod framer;
pub mod link;
pub mod protocol;
pub mod rules;
pub mod spec;
pub mod text_template;

#[cfg(test)]
mod tests;

#[cfg(feature = "runtime")]
pub use adapter::{LineAdapter, LineConfig, LineTransport};
pub use command::{AckSpec, CommandTemplate, EncodeError, Params, Part};
pub use counters::Counters;
pub use decoder::{Decoded, Decoder, show};
pub use fields::{BinaryField, BinaryType, FieldValue, Fields};
pub use framer::Framer;
pub use link::{LineEndpoint, LineLink, LineWrite};
pub use protocol::{CommandError, LineProtocol, Supervision};
pub use rules::{Action, ByteMatch, Classified, Matcher, Outcome, Rule};
pub use spec::{
    Checksum, ChecksumAlgorithm, ChecksumEncoding, Endianness, EscapeRule, EscapeTransform,
    Framing, LengthField, SpecError,
};
pub use text_template::{Pad, TemplateError, TextTemplate};
