//! Checksum engines, and verifying or filling in a body's checksum field over its span.
//!
//! The CRCs are the `crc` crate's catalogue entries (table-driven, built at compile time);
//! the sums are a line each. Nothing here panics on any body or any [`Checksum`]: a field or
//! a span that does not fit the body is [`ChecksumError::Short`].

use crc::{
    CRC_8_AUTOSAR, CRC_8_MAXIM_DOW, CRC_8_SMBUS, CRC_16_IBM_3740, CRC_16_KERMIT, CRC_16_MODBUS,
    CRC_16_XMODEM, Crc,
};

use super::spec::{Checksum, ChecksumAlgorithm, ChecksumEncoding, Endianness};

const CRC8_SMBUS: Crc<u8> = Crc::<u8>::new(&CRC_8_SMBUS);
const CRC8_MAXIM: Crc<u8> = Crc::<u8>::new(&CRC_8_MAXIM_DOW);
const CRC8_AUTOSAR: Crc<u8> = Crc::<u8>::new(&CRC_8_AUTOSAR);
const CRC16_MODBUS: Crc<u16> = Crc::<u16>::new(&CRC_16_MODBUS);
const CRC16_CCITT_FALSE: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);
const CRC16_XMODEM: Crc<u16> = Crc::<u16>::new(&CRC_16_XMODEM);
const CRC16_KERMIT: Crc<u16> = Crc::<u16>::new(&CRC_16_KERMIT);

/// The checksum of `bytes` (an 8-bit algorithm's value is in the low byte).
pub fn compute(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> u16 {
    match algorithm {
        ChecksumAlgorithm::Sum8 => u16::from(sum8(bytes)),
        ChecksumAlgorithm::Sum8Negated => u16::from(sum8(bytes).wrapping_neg()),
        ChecksumAlgorithm::Xor8 => u16::from(bytes.iter().fold(0u8, |acc, b| acc ^ b)),
        ChecksumAlgorithm::Crc8Smbus => u16::from(CRC8_SMBUS.checksum(bytes)),
        ChecksumAlgorithm::Crc8Maxim => u16::from(CRC8_MAXIM.checksum(bytes)),
        ChecksumAlgorithm::Crc8Autosar => u16::from(CRC8_AUTOSAR.checksum(bytes)),
        ChecksumAlgorithm::Crc16Modbus => CRC16_MODBUS.checksum(bytes),
        ChecksumAlgorithm::Crc16CcittFalse => CRC16_CCITT_FALSE.checksum(bytes),
        ChecksumAlgorithm::Crc16Xmodem => CRC16_XMODEM.checksum(bytes),
        ChecksumAlgorithm::Crc16Kermit => CRC16_KERMIT.checksum(bytes),
    }
}

fn sum8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// The field bytes that carry `value` for this algorithm and encoding.
pub fn encode_value(
    algorithm: ChecksumAlgorithm,
    encoding: ChecksumEncoding,
    value: u16,
) -> Vec<u8> {
    let raw: Vec<u8> = if algorithm.width() == 1 {
        vec![value as u8]
    } else {
        value.to_be_bytes().to_vec()
    };
    match encoding {
        ChecksumEncoding::Binary(Endianness::Big) => raw,
        ChecksumEncoding::Binary(Endianness::Little) => raw.into_iter().rev().collect(),
        ChecksumEncoding::HexUpper => {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            raw.iter()
                .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0F)]])
                .collect()
        }
    }
}

/// The value carried by field bytes, or `None` if they are not a valid encoding (e.g. a
/// non-hex character in a text checksum).
pub fn decode_value(
    algorithm: ChecksumAlgorithm,
    encoding: ChecksumEncoding,
    field: &[u8],
) -> Option<u16> {
    let raw: Vec<u8> = match encoding {
        ChecksumEncoding::Binary(order) => {
            let mut raw = field.to_vec();
            if order == Endianness::Little {
                raw.reverse();
            }
            raw
        }
        ChecksumEncoding::HexUpper => {
            let pairs = field.chunks_exact(2);
            if !pairs.remainder().is_empty() {
                return None;
            }
            pairs
                .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
                .collect::<Option<Vec<u8>>>()?
        }
    };
    match (algorithm.width(), raw.as_slice()) {
        (1, [b]) => Some(u16::from(*b)),
        (2, [hi, lo]) => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Why a body's checksum does not check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// The body is too short for the field or the span.
    #[error("frame too short for its checksum")]
    Short,
    /// The field is not a valid encoding (a non-hex digit in a text checksum).
    #[error("checksum field is not valid {0:?}")]
    Unreadable(ChecksumEncoding),
    /// The field holds another value than the one computed.
    #[error("checksum mismatch: frame says 0x{found:04X}, computed 0x{computed:04X}")]
    Mismatch {
        /// Carried in the frame.
        found: u16,
        /// Computed over the span.
        computed: u16,
    },
}

/// Where the field and the span lie in a body of `len` bytes, if they fit.
fn layout(
    checksum: &Checksum,
    len: usize,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let width = checksum.field_width();
    let field_start = len.checked_sub(checksum.field_from_end)?;
    let field_end = field_start.checked_add(width).filter(|end| *end <= len)?;
    let span_end = len.checked_sub(checksum.end_from_end)?;
    if checksum.start > span_end {
        return None;
    }
    Some((field_start..field_end, checksum.start..span_end))
}

/// Checks `body`'s checksum.
pub fn verify(checksum: &Checksum, body: &[u8]) -> Result<(), ChecksumError> {
    let (field, span) = layout(checksum, body.len()).ok_or(ChecksumError::Short)?;
    let found = decode_value(checksum.algorithm, checksum.encoding, &body[field])
        .ok_or(ChecksumError::Unreadable(checksum.encoding))?;
    let computed = compute(checksum.algorithm, &body[span]);
    if found == computed {
        Ok(())
    } else {
        Err(ChecksumError::Mismatch { found, computed })
    }
}

/// The message of a body: the body without its checksum field. The caller has verified it
/// (or there is no checksum); a body too short for the field is returned whole.
pub fn strip(checksum: &Checksum, body: &[u8]) -> Vec<u8> {
    match layout(checksum, body.len()) {
        Some((field, _)) => {
            let mut message = body[..field.start].to_vec();
            message.extend_from_slice(&body[field.end..]);
            message
        }
        None => body.to_vec(),
    }
}

/// Computes the checksum over its span of `body` and writes it into the field, which is
/// already there. `None` if the body is too short for the field or the span.
pub fn fill(checksum: &Checksum, body: &mut [u8]) -> Option<()> {
    let (field, span) = layout(checksum, body.len())?;
    let value = compute(checksum.algorithm, &body[span]);
    body[field].copy_from_slice(&encode_value(checksum.algorithm, checksum.encoding, value));
    Some(())
}

/// Inserts the checksum field into `message` (the body without it) and fills it in: the
/// field goes `field_from_end - width` bytes before the end of the message (right at the
/// end for a trailing checksum). `None` if the message is too short for the span.
pub fn insert(checksum: &Checksum, message: &[u8]) -> Option<Vec<u8>> {
    let width = checksum.field_width();
    let tail = checksum.field_from_end.checked_sub(width)?;
    let at = message.len().checked_sub(tail)?;
    let mut body = message[..at].to_vec();
    body.extend(std::iter::repeat_n(0u8, width));
    body.extend_from_slice(&message[at..]);
    fill(checksum, &mut body)?;
    Some(body)
}
