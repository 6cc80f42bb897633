//! Field extraction: named values out of a message, by regular expression over text or by
//! offset, width and byte order over binary.

use std::collections::BTreeMap;
use std::fmt;

use regex::bytes::Regex;

use super::spec::Endianness;

/// One extracted field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A number read from binary (integers, bit fields).
    Int(i64),
    /// A capture of a text rule, as sent (not trimmed, leading zeros kept: `"001"`).
    Text(String),
    /// Raw bytes of a binary field.
    Bytes(Vec<u8>),
}

impl FieldValue {
    /// The field as a number: an integer, or text that reads as a decimal number
    /// (`"001"` is 1, `"-2.5"` is -2.5). Bytes are not numbers.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            FieldValue::Int(n) => Some(*n as f64),
            FieldValue::Text(s) => {
                let s = s.trim();
                let numeric = !s.is_empty()
                    && s.bytes()
                        .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.'));
                if numeric { s.parse::<f64>().ok() } else { None }
            }
            FieldValue::Bytes(_) => None,
        }
    }
}

impl fmt::Display for FieldValue {
    /// Integers in decimal, text as sent, bytes as uppercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Int(n) => write!(f, "{n}"),
            FieldValue::Text(s) => f.write_str(s),
            FieldValue::Bytes(bytes) => bytes.iter().try_for_each(|b| write!(f, "{b:02X}")),
        }
    }
}

/// The fields of one message, by name.
pub type Fields = BTreeMap<String, FieldValue>;

/// The named groups of `regex` on a text message, or `None` when it does not match. A
/// group that took part in no match is left out. Captures that are not UTF-8 are converted
/// lossily.
pub fn extract_text(regex: &Regex, message: &[u8]) -> Option<Fields> {
    let captures = regex.captures(message)?;
    let mut fields = Fields::new();
    for name in regex.capture_names().flatten() {
        if let Some(m) = captures.name(name) {
            let text = String::from_utf8_lossy(m.as_bytes()).into_owned();
            fields.insert(name.to_owned(), FieldValue::Text(text));
        }
    }
    Some(fields)
}

/// The type of a binary field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryType {
    /// Unsigned 8 bits.
    U8,
    /// Signed 8 bits.
    I8,
    /// Unsigned 16 bits.
    U16,
    /// Signed 16 bits (two's complement).
    I16,
    /// Unsigned 32 bits.
    U32,
    /// Signed 32 bits.
    I32,
    /// `n` raw bytes.
    Bytes(usize),
    /// `bits` bits (1–32) of the unsigned `width`-byte (1, 2 or 4) number at the offset,
    /// starting `shift` bits above its least significant bit.
    Bits {
        /// Bytes of the number the bits are taken from.
        width: u8,
        /// Position of the lowest bit taken, 0 = least significant.
        shift: u8,
        /// How many bits.
        bits: u8,
    },
}

/// A field at a fixed place of a binary message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryField {
    /// The field's name (referenced by rules, events and point templates).
    pub name: String,
    /// Offset in the message.
    pub offset: usize,
    /// Its type.
    pub kind: BinaryType,
    /// Byte order of a multi-byte number.
    pub endianness: Endianness,
}

/// The unsigned number in `bytes` (at most the last 8 count), in this byte order.
pub fn read_uint(bytes: &[u8], endianness: Endianness) -> u64 {
    let fold = |acc: u64, b: &u8| acc.wrapping_shl(8) | u64::from(*b);
    match endianness {
        Endianness::Big => bytes.iter().fold(0, fold),
        Endianness::Little => bytes.iter().rev().fold(0, fold),
    }
}

impl BinaryField {
    /// This field's value in `message`, or `None` if the message is too short (or the type
    /// is malformed: a bit field wider than its number).
    pub fn read(&self, message: &[u8]) -> Option<FieldValue> {
        let width = match self.kind {
            BinaryType::U8 | BinaryType::I8 => 1,
            BinaryType::U16 | BinaryType::I16 => 2,
            BinaryType::U32 | BinaryType::I32 => 4,
            BinaryType::Bytes(n) => n,
            BinaryType::Bits { width, .. } => usize::from(width),
        };
        let bytes = message.get(self.offset..self.offset.checked_add(width)?)?;
        let uint = || read_uint(bytes, self.endianness);
        let value = match self.kind {
            BinaryType::U8 | BinaryType::U16 | BinaryType::U32 => FieldValue::Int(uint() as i64),
            BinaryType::I8 => FieldValue::Int(i64::from(uint() as u8 as i8)),
            BinaryType::I16 => FieldValue::Int(i64::from(uint() as u16 as i16)),
            BinaryType::I32 => FieldValue::Int(i64::from(uint() as u32 as i32)),
            BinaryType::Bytes(_) => FieldValue::Bytes(bytes.to_vec()),
            BinaryType::Bits { width, shift, bits } => {
                let total = u32::from(width) * 8;
                if !matches!(width, 1 | 2 | 4)
                    || bits == 0
                    || u32::from(shift) + u32::from(bits) > total
                {
                    return None;
                }
                let mask = (1u64 << bits) - 1;
                FieldValue::Int(((uint() >> shift) & mask) as i64)
            }
        };
        Some(value)
    }
}

/// Every field of `fields` in `message`, or `None` if one does not fit.
pub fn extract_binary(fields: &[BinaryField], message: &[u8]) -> Option<Fields> {
    fields
        .iter()
        .map(|f| Some((f.name.clone(), f.read(message)?)))
        .collect()
}
