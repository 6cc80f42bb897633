//! What a line protocol looks like on the wire: framing and checksum, as plain data.
//!
//! The mapping compiler fills these in from the integrator's YAML (as it does
//! [`crate::modbus::ModbusConfig`]); nothing here knows a particular panel.
//!
//! Vocabulary used throughout [`crate::line`]:
//! - the **frame** is what the framing cuts out of the byte stream;
//! - its **body** is the frame without its markers (start bytes, end bytes, delimiter), with
//!   escaping undone. Checksum positions and spans count from the body;
//! - its **message** is the body without the checksum field. Rules and fields see the message.

use std::fmt;

/// Byte order of a multi-byte number on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endianness {
    /// Most significant byte first (network order).
    Big,
    /// Least significant byte first (Modbus CRC, most little-endian MCUs).
    Little,
}

/// How a frame is cut out of the byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// A frame ends with `delimiter` (e.g. CR LF); the body is everything before it. Empty
    /// bodies (blank lines) are skipped.
    Delimiter {
        /// The end-of-frame bytes, at least one.
        delimiter: Vec<u8>,
    },
    /// Every frame is `length` bytes, counting `start`. With a `start` marker the framer
    /// hunts for it and so resynchronises after garbage; without one only
    /// [`crate::line::Framer::gap`] (inter-frame silence seen by the adapter) does.
    FixedLength {
        /// Whole frame length, start marker included.
        length: usize,
        /// Bytes every frame starts with (may be empty).
        start: Vec<u8>,
    },
    /// A frame runs from `start` to `end`. When `start` and `end` are the same (HDLC's 0x7E
    /// flag), the end of a frame is also the start of the next. With an `escape` rule, markers never occur
    /// unescaped inside a body, so an unescaped `start` inside a frame restarts it (the
    /// truncated frame is garbage); without one, `start` bytes inside a body are data.
    StartEnd {
        /// Start marker (at least one byte).
        start: Vec<u8>,
        /// End marker (at least one byte).
        end: Vec<u8>,
        /// How marker bytes inside the body are escaped, if they are.
        escape: Option<EscapeRule>,
    },
    /// `start`, then a body whose length a field in it gives, then `end` (may be empty).
    /// An `end` that does not follow where the length says is a broken frame: the framer
    /// resynchronises at the next `start` after the one it tried.
    LengthPrefixed {
        /// Start marker (at least one byte).
        start: Vec<u8>,
        /// Where the length is and what it counts.
        length: LengthField,
        /// End marker (may be empty).
        end: Vec<u8>,
    },
}

/// The length field of [`Framing::LengthPrefixed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthField {
    /// Offset of the field in the body (the body starts right after the start marker).
    pub offset: usize,
    /// Width of the field in bytes: 1, 2 or 4.
    pub width: u8,
    /// Byte order of a 2- or 4-byte field.
    pub endianness: Endianness,
    /// Body length = field value + `adjust`. E.g. `02 LEN payload CRClo CRChi 03` where LEN
    /// counts the payload: the body is LEN + 3 bytes (LEN itself and the CRC), so `adjust` 3.
    pub adjust: i64,
}

/// How bytes that would look like a marker are escaped inside a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscapeRule {
    /// The escape byte (e.g. DLE 0x10, or 0x7D as in HDLC/PPP).
    pub escape: u8,
    /// What the byte after the escape byte stands for.
    pub transform: EscapeTransform,
    /// Further bytes the sender must escape, beyond the escape byte and the first byte of
    /// each marker (which are always escaped).
    pub also: Vec<u8>,
}

/// What the byte after an escape byte means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscapeTransform {
    /// Itself (DLE stuffing: `DLE DLE` is a data DLE, `DLE STX` a data STX).
    Literal,
    /// The original XOR this mask (HDLC/PPP: `7D 5E` is 0x7E with mask 0x20).
    Xor(u8),
}

impl EscapeRule {
    /// The data byte an escaped byte stands for.
    pub fn unescape(&self, byte: u8) -> u8 {
        match self.transform {
            EscapeTransform::Literal => byte,
            EscapeTransform::Xor(mask) => byte ^ mask,
        }
    }

    /// The byte sent after the escape byte for the data byte `byte`.
    pub fn escape_byte(&self, byte: u8) -> u8 {
        // XOR is its own inverse; Literal is the identity.
        self.unescape(byte)
    }
}

/// The checksum algorithms offered. Every CRC comes from the `crc` crate's catalogue
/// (parameters as in the Rocksoft/Williams model; check value = CRC of `"123456789"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// 8-bit sum of the bytes, modulo 256 (DSC IT-100 / PowerSeries, with
    /// [`ChecksumEncoding::HexUpper`]).
    Sum8,
    /// Two's complement of the 8-bit sum (the sum of the span and the checksum is 0 mod 256).
    Sum8Negated,
    /// XOR of the bytes (an LRC / BCC).
    Xor8,
    /// CRC-8 with poly 0x07, init 0x00, not reflected, xorout 0x00 (CRC-8/SMBUS, the common
    /// "CRC-8"); check 0xF4.
    Crc8Smbus,
    /// CRC-8/MAXIM-DOW (1-Wire): poly 0x31, init 0x00, reflected; check 0xA1.
    Crc8Maxim,
    /// CRC-8/AUTOSAR: poly 0x2F, init 0xFF, xorout 0xFF; check 0xDF.
    Crc8Autosar,
    /// CRC-16/MODBUS: poly 0x8005, init 0xFFFF, reflected; check 0x4B37. Sent low byte
    /// first in Modbus RTU ([`Endianness::Little`]).
    Crc16Modbus,
    /// CRC-16/CCITT-FALSE (the catalogue's CRC-16/IBM-3740): poly 0x1021, init 0xFFFF, not
    /// reflected; check 0x29B1.
    Crc16CcittFalse,
    /// CRC-16/XMODEM: poly 0x1021, init 0x0000, not reflected; check 0x31C3.
    Crc16Xmodem,
    /// CRC-16/KERMIT (the "true" CCITT): poly 0x1021, init 0x0000, reflected; check 0x2189.
    Crc16Kermit,
}

impl ChecksumAlgorithm {
    /// Every algorithm, for tests, fuzzing and messages.
    pub const ALL: [ChecksumAlgorithm; 10] = [
        ChecksumAlgorithm::Sum8,
        ChecksumAlgorithm::Sum8Negated,
        ChecksumAlgorithm::Xor8,
        ChecksumAlgorithm::Crc8Smbus,
        ChecksumAlgorithm::Crc8Maxim,
        ChecksumAlgorithm::Crc8Autosar,
        ChecksumAlgorithm::Crc16Modbus,
        ChecksumAlgorithm::Crc16CcittFalse,
        ChecksumAlgorithm::Crc16Xmodem,
        ChecksumAlgorithm::Crc16Kermit,
    ];

    /// Width of the checksum value in bytes (1 or 2).
    pub fn width(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc16Modbus
            | ChecksumAlgorithm::Crc16CcittFalse
            | ChecksumAlgorithm::Crc16Xmodem
            | ChecksumAlgorithm::Crc16Kermit => 2,
            _ => 1,
        }
    }

    /// The name used in the mapping language and in messages.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sum8 => "sum8",
            ChecksumAlgorithm::Sum8Negated => "sum8_negated",
            ChecksumAlgorithm::Xor8 => "xor8",
            ChecksumAlgorithm::Crc8Smbus => "crc8",
            ChecksumAlgorithm::Crc8Maxim => "crc8_maxim",
            ChecksumAlgorithm::Crc8Autosar => "crc8_autosar",
            ChecksumAlgorithm::Crc16Modbus => "crc16_modbus",
            ChecksumAlgorithm::Crc16CcittFalse => "crc16_ccitt_false",
            ChecksumAlgorithm::Crc16Xmodem => "crc16_xmodem",
            ChecksumAlgorithm::Crc16Kermit => "crc16_kermit",
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the checksum value is written in the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumEncoding {
    /// As raw bytes, in this order for a 16-bit value.
    Binary(Endianness),
    /// As hexadecimal ASCII digits, most significant first (two per byte): uppercase when
    /// sent; either case accepted when received.
    HexUpper,
}

/// A frame's checksum: algorithm, the bytes it covers, and where it sits.
///
/// Offsets count from the body (see the module doc). The covered span is
/// `body[start .. body.len() - end_from_end]`; the checksum field is the
/// [`Checksum::field_width`] bytes starting at `body.len() - field_from_end`. The usual case,
/// a checksum right at the end of the body covering everything before it, is
/// [`Checksum::trailing`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// How its value is written.
    pub encoding: ChecksumEncoding,
    /// First covered byte, from the start of the body.
    pub start: usize,
    /// Bytes after the covered span, up to the end of the body (at least the field's own
    /// width when the field follows the span).
    pub end_from_end: usize,
    /// Where the field starts, counted back from the end of the body.
    pub field_from_end: usize,
}

impl Checksum {
    /// A checksum at the very end of the body covering every byte before it.
    pub fn trailing(algorithm: ChecksumAlgorithm, encoding: ChecksumEncoding) -> Checksum {
        let width = field_width(algorithm, encoding);
        Checksum {
            algorithm,
            encoding,
            start: 0,
            end_from_end: width,
            field_from_end: width,
        }
    }

    /// The DSC IT-100 checksum: the 8-bit sum of the command and data characters, as two
    /// uppercase hex digits right after them.
    pub fn sum8_hex_text() -> Checksum {
        Checksum::trailing(ChecksumAlgorithm::Sum8, ChecksumEncoding::HexUpper)
    }

    /// Bytes the checksum field occupies in the body.
    pub fn field_width(&self) -> usize {
        field_width(self.algorithm, self.encoding)
    }
}

fn field_width(algorithm: ChecksumAlgorithm, encoding: ChecksumEncoding) -> usize {
    match encoding {
        ChecksumEncoding::Binary(_) => algorithm.width(),
        ChecksumEncoding::HexUpper => 2 * algorithm.width(),
    }
}

/// Why a framing or checksum description cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A marker that must have bytes is empty.
    #[error("the {0} marker is empty")]
    EmptyMarker(&'static str),
    /// A length that must be positive is not, or is larger than the maximum frame length.
    #[error("bad length: {0}")]
    BadLength(String),
    /// The length field width is not 1, 2 or 4.
    #[error("length field width {0} is not 1, 2 or 4")]
    BadWidth(u8),
    /// The escape byte is the first byte of no marker and the markers use it oddly.
    #[error("escape rule: {0}")]
    BadEscape(String),
    /// The supervision names a command the protocol does not have.
    #[error("supervision command {0:?} is not a command of the protocol")]
    UnknownCommand(String),
    /// The checksum field overlaps its own span, or lies outside every possible body.
    #[error("checksum: {0}")]
    BadChecksum(String),
}

impl Framing {
    /// Checks the framing against `max_len` (the largest body kept).
    pub fn check(&self, max_len: usize) -> Result<(), SpecError> {
        if max_len == 0 {
            return Err(SpecError::BadLength("max frame length is 0".into()));
        }
        match self {
            Framing::Delimiter { delimiter } => {
                if delimiter.is_empty() {
                    return Err(SpecError::EmptyMarker("delimiter"));
                }
            }
            Framing::FixedLength { length, start } => {
                if *length <= start.len() {
                    return Err(SpecError::BadLength(format!(
                        "fixed length {length} leaves no body after a {}-byte start",
                        start.len()
                    )));
                }
                if length - start.len() > max_len {
                    return Err(SpecError::BadLength(format!(
                        "fixed length {length} is over the max frame length {max_len}"
                    )));
                }
            }
            Framing::StartEnd { start, end, escape } => {
                if start.is_empty() {
                    return Err(SpecError::EmptyMarker("start"));
                }
                if end.is_empty() {
                    return Err(SpecError::EmptyMarker("end"));
                }
                if let Some(rule) = escape {
                    // An unescaped start restarts a frame, so the start must not be seen
                    // inside a genuine end marker before the end is complete.
                    let end_but_last = &end[..end.len() - 1];
                    if start.len() <= end_but_last.len()
                        && end_but_last
                            .windows(start.len())
                            .any(|w| w == start.as_slice())
                    {
                        return Err(SpecError::BadEscape(
                            "the start marker occurs inside the end marker".into(),
                        ));
                    }
                    for (what, marker) in [("start", start), ("end", end)] {
                        // A marker may be the escape byte and one more (DLE STX … DLE ETX);
                        // an escape byte anywhere else in a marker could never be matched.
                        let escaped_pair = marker.len() == 2 && marker[0] == rule.escape;
                        if !escaped_pair && marker.contains(&rule.escape) {
                            return Err(SpecError::BadEscape(format!(
                                "the escape byte 0x{:02X} inside the {what} marker",
                                rule.escape
                            )));
                        }
                    }
                }
            }
            Framing::LengthPrefixed { start, length, .. } => {
                if start.is_empty() {
                    return Err(SpecError::EmptyMarker("start"));
                }
                if !matches!(length.width, 1 | 2 | 4) {
                    return Err(SpecError::BadWidth(length.width));
                }
            }
        }
        Ok(())
    }
}

impl Checksum {
    /// Checks that the field and the span cannot overlap.
    pub fn check(&self) -> Result<(), SpecError> {
        let width = self.field_width();
        if self.field_from_end < width {
            return Err(SpecError::BadChecksum(format!(
                "the field ({width} bytes) starts {} bytes before the end of the body",
                self.field_from_end
            )));
        }
        // Field [len-F, len-F+W) and span [start, len-E) must not overlap for any length:
        // either the span ends before the field (E >= F) or it starts after the field
        // (start >= len-F+W, impossible for every length unless the span is empty).
        if self.end_from_end < self.field_from_end {
            return Err(SpecError::BadChecksum(
                "the covered span runs into the checksum field".into(),
            ));
        }
        Ok(())
    }
}
