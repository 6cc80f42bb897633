//! [`Bits`]: a Wiegand frame as it came off the wire, up to [`Bits::MAX`] bits.

use std::fmt;
use std::str::FromStr;

/// A Wiegand frame: up to [`Bits::MAX`] bits in the order they were sent.
///
/// Bit 1 (index 0) is the first bit transmitted, which Wiegand formats treat as the most
/// significant. The value is kept right-aligned: for a 26-bit frame, [`Bits::value`] is the
/// 26-bit number whose MSB was sent first, as converters and most documentation print it.
///
/// Built from a bit string ([`FromStr`], `"1 0111 1011 ..."`: `0`/`1`, spaces and `_`
/// ignored), from packed bytes as OSDP `osdp_RAW` delivers them ([`Bits::from_bytes`]), from
/// a number and a length ([`Bits::from_value`]), or bit by bit ([`Bits::push`]).
/// [`Display`](fmt::Display) writes the bit string; `{:x}`/`{:X}` the value in hex, zero-padded
/// to whole nibbles of the length (`{:#x}` with `0x`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bits {
    len: u8,
    value: u128,
}

/// Why [`Bits`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitsError {
    /// More bits than [`Bits::MAX`].
    #[error("{len} bits is more than the {max} a Wiegand frame may have here", max = Bits::MAX)]
    TooLong {
        /// The length asked for.
        len: usize,
    },
    /// A bit string with a character other than `0`, `1`, space or `_`.
    #[error("{found:?} at character {at} is not a bit (0 or 1)")]
    NotABit {
        /// The character.
        found: char,
        /// Its position (0-based, in characters).
        at: usize,
    },
    /// Packed bytes that do not match the bit count (`ceil(bits / 8)` bytes are expected).
    #[error("{bits} bits are packed in {expected} bytes, got {got}")]
    ByteCount {
        /// The bit count.
        bits: usize,
        /// `ceil(bits / 8)`.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A value with bits set above the length.
    #[error("{value:#x} does not fit in {len} bits")]
    ValueTooLarge {
        /// The value.
        value: u128,
        /// The length.
        len: u8,
    },
}

impl Bits {
    /// The most bits a frame may have (the longest common formats are 48 bits; OSDP and some
    /// readers send longer raw frames).
    pub const MAX: usize = 128;

    /// No bits.
    pub const EMPTY: Bits = Bits { len: 0, value: 0 };

    /// `len` bits holding `value` (right-aligned: its bit `len - 1` is the first sent).
    pub fn from_value(value: u128, len: usize) -> Result<Bits, BitsError> {
        if len > Self::MAX {
            return Err(BitsError::TooLong { len });
        }
        let len = len as u8;
        if len < 128 && value >> len != 0 {
            return Err(BitsError::ValueTooLarge { value, len });
        }
        Ok(Bits { len, value })
    }

    /// `bits` bits packed MSB first in `bytes`, as OSDP `osdp_RAW` (and `osdp_FMT`-less
    /// readers) deliver them: bit 1 is the top bit of byte 0; the unused low bits of the
    /// last byte are ignored. `bytes` must be exactly `ceil(bits / 8)` long.
    pub fn from_bytes(bytes: &[u8], bits: usize) -> Result<Bits, BitsError> {
        if bits > Self::MAX {
            return Err(BitsError::TooLong { len: bits });
        }
        let expected = bits.div_ceil(8);
        if bytes.len() != expected {
            return Err(BitsError::ByteCount {
                bits,
                expected,
                got: bytes.len(),
            });
        }
        let mut out = Bits::EMPTY;
        for i in 0..bits {
            out.push_unchecked(bytes[i / 8] & (0x80 >> (i % 8)) != 0);
        }
        Ok(out)
    }

    /// The bits packed MSB first, padded with zeros to whole bytes (the inverse of
    /// [`Bits::from_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.len().div_ceil(8)];
        for (i, bit) in self.iter().enumerate() {
            if bit {
                out[i / 8] |= 0x80 >> (i % 8);
            }
        }
        out
    }

    /// Appends a bit (sent after the others); an error when the frame is full.
    pub fn push(&mut self, bit: bool) -> Result<(), BitsError> {
        if self.len() >= Self::MAX {
            return Err(BitsError::TooLong {
                len: self.len() + 1,
            });
        }
        self.push_unchecked(bit);
        Ok(())
    }

    fn push_unchecked(&mut self, bit: bool) {
        self.value = (self.value << 1) | u128::from(bit);
        self.len += 1;
    }

    /// The number of bits.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// No bits at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bits as a number, the first sent most significant.
    pub fn value(&self) -> u128 {
        self.value
    }

    /// Bit `position` counted from 1 (the first sent), as format descriptions number them;
    /// `None` outside `1..=len`.
    pub fn bit(&self, position: usize) -> Option<bool> {
        if position == 0 || position > self.len() {
            return None;
        }
        Some((self.value >> (self.len() - position)) & 1 == 1)
    }

    /// Sets bit `position` (from 1); does nothing outside `1..=len`.
    pub(crate) fn set(&mut self, position: usize, bit: bool) {
        if position == 0 || position > self.len() {
            return;
        }
        let mask = 1u128 << (self.len() - position);
        if bit {
            self.value |= mask;
        } else {
            self.value &= !mask;
        }
    }

    /// `len` bits from `first` (from 1) as a number, the first most significant; bits outside
    /// the frame read as 0, and only the last 64 of a longer field are kept.
    pub fn field(&self, first: usize, len: usize) -> u64 {
        (first..first.saturating_add(len)).fold(0u64, |acc, p| {
            (acc << 1) | u64::from(self.bit(p).unwrap_or(false))
        })
    }

    /// The bits in the order they were sent.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (1..=self.len()).map(|p| self.bit(p).unwrap_or(false))
    }
}

impl FromStr for Bits {
    type Err = BitsError;

    fn from_str(s: &str) -> Result<Bits, BitsError> {
        let mut out = Bits::EMPTY;
        for (at, c) in s.chars().enumerate() {
            match c {
                '0' | '1' => out.push(c == '1').map_err(|_| BitsError::TooLong {
                    len: s.chars().filter(|c| matches!(c, '0' | '1')).count(),
                })?,
                ' ' | '_' => {}
                found => return Err(BitsError::NotABit { found, at }),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for bit in self.iter() {
            f.write_str(if bit { "1" } else { "0" })?;
        }
        Ok(())
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bits({}: {self})", self.len)
    }
}

impl fmt::LowerHex for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str("0x")?;
        }
        write!(f, "{:0width$x}", self.value, width = self.len().div_ceil(4))
    }
}

impl fmt::UpperHex for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str("0x")?;
        }
        write!(f, "{:0width$X}", self.value, width = self.len().div_ceil(4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_strings_parse_and_display() {
        let b: Bits = "1 0111_1011 0".parse().unwrap();
        assert_eq!(b.len(), 10);
        assert_eq!(b.value(), 0b10_1111_0110);
        assert_eq!(b.to_string(), "1011110110");
        assert_eq!(format!("{b:x}"), "2f6");
        assert_eq!(format!("{b:X}"), "2F6");
        assert_eq!(format!("{b:#x}"), "0x2f6");
        assert_eq!(format!("{b:?}"), "Bits(10: 1011110110)");
        assert_eq!(b.bit(1), Some(true));
        assert_eq!(b.bit(2), Some(false));
        assert_eq!(b.bit(10), Some(false));
        assert_eq!(b.bit(0), None);
        assert_eq!(b.bit(11), None);
        assert_eq!(b.field(2, 8), 0b0111_1011);
        assert_eq!("".parse::<Bits>().unwrap(), Bits::EMPTY);
        assert_eq!(
            "10x1".parse::<Bits>(),
            Err(BitsError::NotABit { found: 'x', at: 2 })
        );
        let long = "1".repeat(129);
        assert_eq!(long.parse::<Bits>(), Err(BitsError::TooLong { len: 129 }));
        let full: Bits = "1".repeat(128).parse().unwrap();
        assert_eq!(full.value(), u128::MAX);
        assert_eq!(format!("{full:x}"), "f".repeat(32));
    }

    #[test]
    fn packed_bytes_are_msb_first() {
        // What a libosdp PD sent as a 26-bit osdp_RAW card read (southbound notes, 2.1).
        let b = Bits::from_bytes(&[0x80, 0x00, 0x12, 0x00], 26).unwrap();
        assert_eq!(b.to_string(), "10000000000000000001001000");
        assert_eq!(b.to_bytes(), vec![0x80, 0x00, 0x12, 0x00]);
        // Padding bits in the last byte are ignored.
        let c = Bits::from_bytes(&[0x80, 0x00, 0x12, 0x3F], 26).unwrap();
        assert_eq!(b, c);
        assert_eq!(
            Bits::from_bytes(&[0x80, 0x00, 0x12], 26),
            Err(BitsError::ByteCount {
                bits: 26,
                expected: 4,
                got: 3
            })
        );
        assert_eq!(
            Bits::from_bytes(&[0; 17], 129),
            Err(BitsError::TooLong { len: 129 })
        );
        assert_eq!(Bits::from_bytes(&[], 0), Ok(Bits::EMPTY));
        let all = Bits::from_bytes(&[0xFF; 16], 128).unwrap();
        assert_eq!(all.value(), u128::MAX);
        assert_eq!(all.to_bytes(), vec![0xFF; 16]);
    }

    #[test]
    fn values_must_fit_their_length() {
        assert_eq!(Bits::from_value(0x3FF_FFFF, 26).unwrap().len(), 26);
        assert_eq!(
            Bits::from_value(0x400_0000, 26),
            Err(BitsError::ValueTooLarge {
                value: 0x400_0000,
                len: 26
            })
        );
        assert!(Bits::from_value(u128::MAX, 128).is_ok());
        assert_eq!(
            Bits::from_value(0, 129),
            Err(BitsError::TooLong { len: 129 })
        );
        let mut b = Bits::from_value(0, 127).unwrap();
        b.push(true).unwrap();
        assert_eq!(b.push(true), Err(BitsError::TooLong { len: 129 }));
        b.set(1, true);
        b.set(128, false);
        b.set(0, true);
        b.set(129, true);
        assert_eq!(b.value(), 1 << 127);
    }
}
