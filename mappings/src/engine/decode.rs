//! Wire ⇄ raw value conversions: byte orders, wire types, bit fields, scale/offset and maps.
//!
//! Reading goes wire → [`Raw`] ([`read_raw`], [`decode_raw`]); the engine then turns the raw
//! value into what it publishes (see `render`). Writing goes the other way: a number
//! ([`encode_number`]) or a published text ([`encode_text`]) becomes the wire [`Value`] to
//! write, through the inverse of the same map, scale and offset.
//!
//! The 32-bit byte orders are named by where the bytes A (most significant) to D land on the
//! wire. For `0xAABBCCDD`:
//!
//! | Order  | Registers (wire order) |
//! |--------|------------------------|
//! | `ABCD` | `[0xAABB, 0xCCDD]`     |
//! | `CDAB` | `[0xCCDD, 0xAABB]`     |
//! | `BADC` | `[0xBBAA, 0xDDCC]`     |
//! | `DCBA` | `[0xDDCC, 0xBBAA]`     |
//!
//! Nothing here panics: a reading whose shape does not fit the wire type is an error.

use std::fmt;

use railgate_adapters::Value;

use crate::plan::{BitField, ByteOrder, Decode, WireType};

/// A raw reading, after the wire type and bit field, before map, scale and offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Raw {
    /// A bit.
    Bool(bool),
    /// An integer (u16, i16, u32, i32 sign- or zero-extended; a bit field is unsigned).
    Int(i64),
    /// An IEEE 754 single, always finite.
    Float(f32),
}

/// Why a reading cannot be decoded (the engine counts it and publishes nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The reading's shape does not fit the wire type (e.g. a bit for a u32, one register for
    /// an f32).
    Shape,
    /// An f32 reading is NaN or infinite, or scale/offset made the number non-finite.
    NotFinite,
    /// The value does not fit the published data type (e.g. 3e9 as `xs:int`).
    OutOfRange,
    /// A mapped text is not a valid lexical form of the published data type.
    NotRepresentable,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::Shape => "the reading's shape does not match the point's wire type",
            DecodeError::NotFinite => "the reading is not a finite number",
            DecodeError::OutOfRange => "the value is out of range for its published type",
            DecodeError::NotRepresentable => "the mapped text is not valid for its published type",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Why a value cannot be encoded for writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The number is NaN or infinite (or the scale is zero).
    NotFinite,
    /// The raw value does not fit the wire type.
    OutOfRange,
    /// The point is a bit field: writing it needs the rest of the register.
    BitField,
    /// The text is neither in the map nor a number.
    UnknownText,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::NotFinite => "the value is not a finite number",
            EncodeError::OutOfRange => "the value does not fit the wire type",
            EncodeError::BitField => "a bit field cannot be written on its own",
            EncodeError::UnknownText => "the text is neither a mapped value nor a number",
        })
    }
}

impl std::error::Error for EncodeError {}

/// The four wire bytes of two registers, in wire order (high byte of each register first).
fn wire_bytes(regs: [u16; 2]) -> [u8; 4] {
    let [a, b] = regs[0].to_be_bytes();
    let [c, d] = regs[1].to_be_bytes();
    [a, b, c, d]
}

/// Two registers from four wire bytes.
fn registers_from_bytes(bytes: [u8; 4]) -> [u16; 2] {
    [
        u16::from_be_bytes([bytes[0], bytes[1]]),
        u16::from_be_bytes([bytes[2], bytes[3]]),
    ]
}

/// The 32-bit value two registers (in wire order) hold in byte order `order`.
pub fn registers_to_u32(regs: [u16; 2], order: ByteOrder) -> u32 {
    let [w0, w1, w2, w3] = wire_bytes(regs);
    match order {
        ByteOrder::Abcd => u32::from_be_bytes([w0, w1, w2, w3]),
        ByteOrder::Cdab => u32::from_be_bytes([w2, w3, w0, w1]),
        ByteOrder::Badc => u32::from_be_bytes([w1, w0, w3, w2]),
        ByteOrder::Dcba => u32::from_le_bytes([w0, w1, w2, w3]),
    }
}

/// The two registers (in wire order) that carry `value` in byte order `order`; the inverse of
/// [`registers_to_u32`].
pub fn u32_to_registers(value: u32, order: ByteOrder) -> [u16; 2] {
    let [a, b, c, d] = value.to_be_bytes();
    registers_from_bytes(match order {
        ByteOrder::Abcd => [a, b, c, d],
        ByteOrder::Cdab => [c, d, a, b],
        ByteOrder::Badc => [b, a, d, c],
        ByteOrder::Dcba => [d, c, b, a],
    })
}

/// The f32 two registers hold in byte order `order` (may be NaN or infinite).
pub fn registers_to_f32(regs: [u16; 2], order: ByteOrder) -> f32 {
    f32::from_bits(registers_to_u32(regs, order))
}

/// The two registers that carry `value` in byte order `order`.
pub fn f32_to_registers(value: f32, order: ByteOrder) -> [u16; 2] {
    u32_to_registers(value.to_bits(), order)
}

/// `(raw >> shift) & ((1 << width) - 1)`; a shift of 32 or more gives 0, a width of 32 or
/// more keeps every bit.
pub fn bit_field(raw: u32, field: BitField) -> u32 {
    let shifted = raw.checked_shr(u32::from(field.shift)).unwrap_or(0);
    let mask = match field.width {
        32.. => u32::MAX,
        width => (1u32 << width) - 1,
    };
    shifted & mask
}

/// The unsigned wire word of a reading: one bit, one register or two registers.
#[derive(Clone, Copy)]
enum Word {
    Bit(bool),
    W16(u16),
    W32(u32),
}

/// Reads the wire word of `value` for wire type `wire`. A bit must be [`Value::Bool`]; a
/// 16-bit type [`Value::U16`] (or exactly one register); a 32-bit type exactly two registers.
fn read_word(value: &Value, wire: WireType, order: ByteOrder) -> Result<Word, DecodeError> {
    match (wire, value) {
        (WireType::Bool, Value::Bool(bit)) => Ok(Word::Bit(*bit)),
        (WireType::U16 | WireType::I16, Value::U16(reg)) => Ok(Word::W16(*reg)),
        (WireType::U16 | WireType::I16, Value::Registers(regs)) => match regs.as_slice() {
            [reg] => Ok(Word::W16(*reg)),
            _ => Err(DecodeError::Shape),
        },
        (WireType::U32 | WireType::I32 | WireType::F32, Value::Registers(regs)) => {
            match regs.as_slice() {
                [hi, lo] => Ok(Word::W32(registers_to_u32([*hi, *lo], order))),
                _ => Err(DecodeError::Shape),
            }
        }
        _ => Err(DecodeError::Shape),
    }
}

/// Interprets a wire word as its wire type.
fn interpret(word: Word, wire: WireType) -> Result<Raw, DecodeError> {
    match (wire, word) {
        (WireType::Bool, Word::Bit(bit)) => Ok(Raw::Bool(bit)),
        (WireType::U16, Word::W16(reg)) => Ok(Raw::Int(i64::from(reg))),
        (WireType::I16, Word::W16(reg)) => Ok(Raw::Int(i64::from(reg as i16))),
        (WireType::U32, Word::W32(v)) => Ok(Raw::Int(i64::from(v))),
        (WireType::I32, Word::W32(v)) => Ok(Raw::Int(i64::from(v as i32))),
        (WireType::F32, Word::W32(v)) => {
            let f = f32::from_bits(v);
            if f.is_finite() {
                Ok(Raw::Float(f))
            } else {
                Err(DecodeError::NotFinite)
            }
        }
        _ => Err(DecodeError::Shape),
    }
}

/// A reading as its wire type, without bit field: `Bool`, sign- or zero-extended `Int`, or a
/// finite `Float` (NaN and infinities are [`DecodeError::NotFinite`]).
pub fn read_raw(value: &Value, wire: WireType, order: ByteOrder) -> Result<Raw, DecodeError> {
    interpret(read_word(value, wire, order)?, wire)
}

/// A reading as its wire type, then cut to `decode.bits` when the wire type is an integer
/// (the field is taken from the unsigned wire bits, so it is never negative). Bit fields on
/// `bool` and `f32` points are ignored.
pub fn decode_raw(value: &Value, decode: &Decode) -> Result<Raw, DecodeError> {
    let word = read_word(value, decode.wire, decode.order)?;
    let integer = matches!(
        decode.wire,
        WireType::U16 | WireType::I16 | WireType::U32 | WireType::I32
    );
    match (decode.bits, word) {
        (Some(field), Word::W16(reg)) if integer => {
            Ok(Raw::Int(i64::from(bit_field(u32::from(reg), field))))
        }
        (Some(field), Word::W32(v)) if integer => Ok(Raw::Int(i64::from(bit_field(v, field)))),
        _ => interpret(word, decode.wire),
    }
}

/// The wire value that carries `raw` as wire type `wire` (the inverse of [`read_raw`]).
///
/// `Bool` takes a bool or the integers 0 and 1; integer types take integers in their range;
/// `f32` takes a finite float or an integer (converted to the nearest f32).
pub fn write_raw(raw: Raw, wire: WireType, order: ByteOrder) -> Result<Value, EncodeError> {
    let registers = |v: u32| Value::Registers(u32_to_registers(v, order).to_vec());
    match (wire, raw) {
        (WireType::Bool, Raw::Bool(bit)) => Ok(Value::Bool(bit)),
        (WireType::Bool, Raw::Int(0)) => Ok(Value::Bool(false)),
        (WireType::Bool, Raw::Int(1)) => Ok(Value::Bool(true)),
        (WireType::U16, Raw::Int(i)) => u16::try_from(i)
            .map(Value::U16)
            .map_err(|_| EncodeError::OutOfRange),
        (WireType::I16, Raw::Int(i)) => i16::try_from(i)
            .map(|v| Value::U16(v as u16))
            .map_err(|_| EncodeError::OutOfRange),
        (WireType::U32, Raw::Int(i)) => u32::try_from(i)
            .map(registers)
            .map_err(|_| EncodeError::OutOfRange),
        (WireType::I32, Raw::Int(i)) => i32::try_from(i)
            .map(|v| registers(v as u32))
            .map_err(|_| EncodeError::OutOfRange),
        (WireType::F32, Raw::Float(f)) if f.is_finite() => Ok(registers(f.to_bits())),
        (WireType::F32, Raw::Float(_)) => Err(EncodeError::NotFinite),
        (WireType::F32, Raw::Int(i)) => Ok(registers((i as f32).to_bits())),
        _ => Err(EncodeError::OutOfRange),
    }
}

/// The wire value to write so that the point reads back as `number` (the published value):
/// `raw = (number - offset) / scale`, rounded to the nearest integer for integer and bit wire
/// types. Bit fields cannot be written on their own ([`EncodeError::BitField`]).
pub fn encode_number(number: f64, decode: &Decode) -> Result<Value, EncodeError> {
    if decode.bits.is_some() {
        return Err(EncodeError::BitField);
    }
    let raw = (number - decode.offset) / decode.scale;
    if !raw.is_finite() {
        return Err(EncodeError::NotFinite);
    }
    let raw = match decode.wire {
        WireType::F32 => {
            let f = raw as f32;
            if !f.is_finite() {
                return Err(EncodeError::OutOfRange);
            }
            Raw::Float(f)
        }
        _ => {
            let rounded = raw.round();
            // i64 covers every integer wire type; out-of-range values fail in `write_raw`.
            if rounded < i64::MIN as f64 || rounded >= i64::MAX as f64 {
                return Err(EncodeError::OutOfRange);
            }
            Raw::Int(rounded as i64)
        }
    };
    write_raw(raw, decode.wire, decode.order)
}

/// The raw map key whose text is `text`, if any (the first in key order).
pub fn map_key(decode: &Decode, text: &str) -> Option<i64> {
    decode
        .map
        .as_ref()?
        .iter()
        .find(|(_, t)| t.as_str() == text)
        .map(|(k, _)| *k)
}

/// The wire value to write so that the point publishes `text`.
///
/// With a map, a mapped text writes its raw key and a number writes that raw value (unmapped
/// raw values are published as their number). Without a map, the text is parsed as a number
/// (`true`/`false` count as 1/0) and written through [`encode_number`].
pub fn encode_text(text: &str, decode: &Decode) -> Result<Value, EncodeError> {
    if decode.bits.is_some() {
        return Err(EncodeError::BitField);
    }
    if decode.map.is_some() {
        let key = match map_key(decode, text) {
            Some(key) => key,
            None => text.parse::<i64>().map_err(|_| EncodeError::UnknownText)?,
        };
        return write_raw(Raw::Int(key), decode.wire, decode.order);
    }
    let number = match text {
        "true" => 1.0,
        "false" => 0.0,
        _ => text.parse::<f64>().map_err(|_| EncodeError::UnknownText)?,
    };
    encode_number(number, decode)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const ORDERS: [ByteOrder; 4] = [
        ByteOrder::Abcd,
        ByteOrder::Cdab,
        ByteOrder::Badc,
        ByteOrder::Dcba,
    ];

    fn decode(wire: WireType, order: ByteOrder) -> Decode {
        Decode::raw(wire, order)
    }

    fn regs(r: [u16; 2]) -> Value {
        Value::Registers(r.to_vec())
    }

    #[test]
    fn byte_orders_place_bytes_as_named() {
        let expected = [
            (ByteOrder::Abcd, [0xAABB, 0xCCDD]),
            (ByteOrder::Cdab, [0xCCDD, 0xAABB]),
            (ByteOrder::Badc, [0xBBAA, 0xDDCC]),
            (ByteOrder::Dcba, [0xDDCC, 0xBBAA]),
        ];
        for (order, wire) in expected {
            assert_eq!(u32_to_registers(0xAABB_CCDD, order), wire, "{order:?}");
            assert_eq!(registers_to_u32(wire, order), 0xAABB_CCDD, "{order:?}");
        }
    }

    #[test]
    fn f32_123_456_in_all_four_orders() {
        // 123.456f32 = 0x42F6E979.
        assert_eq!(123.456f32.to_bits(), 0x42F6_E979);
        let expected = [
            (ByteOrder::Abcd, [0x42F6, 0xE979]),
            (ByteOrder::Cdab, [0xE979, 0x42F6]),
            (ByteOrder::Badc, [0xF642, 0x79E9]),
            (ByteOrder::Dcba, [0x79E9, 0xF642]),
        ];
        for (order, wire) in expected {
            assert_eq!(f32_to_registers(123.456, order), wire, "{order:?}");
            assert_eq!(
                read_raw(&regs(wire), WireType::F32, order),
                Ok(Raw::Float(123.456)),
                "{order:?}"
            );
        }
    }

    #[test]
    fn f32_examples_decode() {
        let cases: [(u32, f32); 5] = [
            (0x3F80_0000, 1.0),
            (0xBF80_0000, -1.0),
            (0x0000_0000, 0.0),
            (0x4120_0000, 10.0),
            (0xC2C8_0000, -100.0),
        ];
        for order in ORDERS {
            for (bits, expected) in cases {
                let wire = u32_to_registers(bits, order);
                assert_eq!(
                    read_raw(&regs(wire), WireType::F32, order),
                    Ok(Raw::Float(expected))
                );
            }
        }
    }

    #[test]
    fn f32_nan_and_infinities_are_rejected_in_every_order() {
        for order in ORDERS {
            for bits in [0x7FC0_0000, 0xFFC0_0001, 0x7F80_0000, 0xFF80_0000] {
                let wire = u32_to_registers(bits, order);
                assert_eq!(
                    read_raw(&regs(wire), WireType::F32, order),
                    Err(DecodeError::NotFinite),
                    "{bits:#x} {order:?}"
                );
            }
        }
    }

    #[test]
    fn u16_and_i16_edges() {
        let cases: [(u16, i64, i64); 5] = [
            (0x0000, 0, 0),
            (0x0001, 1, 1),
            (0x7FFF, 32767, 32767),
            (0x8000, 32768, -32768),
            (0xFFFF, 65535, -1),
        ];
        for (reg, unsigned, signed) in cases {
            let value = Value::U16(reg);
            assert_eq!(
                read_raw(&value, WireType::U16, ByteOrder::Abcd),
                Ok(Raw::Int(unsigned))
            );
            assert_eq!(
                read_raw(&value, WireType::I16, ByteOrder::Abcd),
                Ok(Raw::Int(signed))
            );
            // One register as a one-element block reads the same.
            assert_eq!(
                read_raw(&Value::Registers(vec![reg]), WireType::I16, ByteOrder::Abcd),
                Ok(Raw::Int(signed))
            );
        }
    }

    #[test]
    fn u32_and_i32_edges_in_every_order() {
        let cases: [(u32, i64, i64); 6] = [
            (0, 0, 0),
            (1, 1, 1),
            (0x7FFF_FFFF, 2_147_483_647, i64::from(i32::MAX)),
            (0x8000_0000, 2_147_483_648, i64::from(i32::MIN)),
            (0xFFFF_FFFF, 4_294_967_295, -1),
            (0x0001_0000, 65536, 65536),
        ];
        for order in ORDERS {
            for (bits, unsigned, signed) in cases {
                let wire = regs(u32_to_registers(bits, order));
                assert_eq!(
                    read_raw(&wire, WireType::U32, order),
                    Ok(Raw::Int(unsigned))
                );
                assert_eq!(read_raw(&wire, WireType::I32, order), Ok(Raw::Int(signed)));
            }
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_rejected() {
        let bad: [(Value, WireType); 11] = [
            (Value::U16(1), WireType::Bool),
            (Value::Registers(vec![1]), WireType::Bool),
            (Value::Bool(true), WireType::U16),
            (Value::Registers(vec![1, 2]), WireType::U16),
            (Value::Registers(vec![]), WireType::I16),
            (Value::Bool(true), WireType::U32),
            (Value::U16(1), WireType::I32),
            (Value::Registers(vec![1]), WireType::U32),
            (Value::Registers(vec![1, 2, 3]), WireType::F32),
            (Value::Bytes(vec![0, 0, 0, 0]), WireType::F32),
            (Value::Bytes(vec![1]), WireType::Bool),
        ];
        for (value, wire) in bad {
            assert_eq!(
                read_raw(&value, wire, ByteOrder::Abcd),
                Err(DecodeError::Shape),
                "{value:?} as {wire:?}"
            );
        }
    }

    #[test]
    fn bit_fields() {
        let f = |shift, width| BitField { shift, width };
        assert_eq!(bit_field(0b1011_0100, f(2, 3)), 0b101);
        assert_eq!(bit_field(0x8000, f(15, 1)), 1);
        assert_eq!(bit_field(0x7FFF, f(15, 1)), 0);
        assert_eq!(bit_field(0xFFFF_FFFF, f(0, 32)), 0xFFFF_FFFF);
        assert_eq!(bit_field(0xFFFF_FFFF, f(31, 1)), 1);
        assert_eq!(bit_field(0xFFFF_FFFF, f(32, 4)), 0, "shift past the end");
        assert_eq!(bit_field(0xFFFF_FFFF, f(200, 4)), 0);
        assert_eq!(bit_field(0xFFFF_FFFF, f(4, 0)), 0, "zero width");
        assert_eq!(bit_field(0xFFFF_FFFF, f(4, 255)), 0x0FFF_FFFF);
    }

    #[test]
    fn bit_field_is_taken_from_unsigned_wire_bits() {
        let mut d = decode(WireType::I16, ByteOrder::Abcd);
        d.bits = Some(BitField {
            shift: 12,
            width: 4,
        });
        // 0x8000 is -32768 as i16; its top nibble is 8, not a negative number.
        assert_eq!(decode_raw(&Value::U16(0x8000), &d), Ok(Raw::Int(8)));
        let mut d = decode(WireType::I32, ByteOrder::Cdab);
        d.bits = Some(BitField {
            shift: 28,
            width: 4,
        });
        let wire = regs(u32_to_registers(0xF000_0000, ByteOrder::Cdab));
        assert_eq!(decode_raw(&wire, &d), Ok(Raw::Int(0xF)));
    }

    #[test]
    fn write_raw_round_trips_every_type_and_order() {
        let ints: [(WireType, &[i64]); 4] = [
            (WireType::U16, &[0, 1, 0x7FFF, 0x8000, 0xFFFF]),
            (WireType::I16, &[-32768, -1, 0, 1, 32767]),
            (WireType::U32, &[0, 1, 0xFFFF, 0x1_0000, 0xFFFF_FFFF]),
            (
                WireType::I32,
                &[i64::from(i32::MIN), -1, 0, 1, i64::from(i32::MAX)],
            ),
        ];
        for order in ORDERS {
            for (wire, values) in ints {
                for &v in values {
                    let value = write_raw(Raw::Int(v), wire, order).expect("encodes");
                    assert_eq!(read_raw(&value, wire, order), Ok(Raw::Int(v)), "{wire:?}");
                }
            }
            for f in [
                0.0f32,
                -0.0,
                1.5,
                -123.456,
                123.456,
                f32::MAX,
                f32::MIN_POSITIVE,
            ] {
                let value = write_raw(Raw::Float(f), WireType::F32, order).expect("encodes");
                assert_eq!(read_raw(&value, WireType::F32, order), Ok(Raw::Float(f)));
            }
            for b in [false, true] {
                let value = write_raw(Raw::Bool(b), WireType::Bool, order).expect("encodes");
                assert_eq!(read_raw(&value, WireType::Bool, order), Ok(Raw::Bool(b)));
            }
        }
    }

    #[test]
    fn write_raw_refuses_out_of_range() {
        let cases: [(Raw, WireType); 9] = [
            (Raw::Int(-1), WireType::U16),
            (Raw::Int(65536), WireType::U16),
            (Raw::Int(-32769), WireType::I16),
            (Raw::Int(32768), WireType::I16),
            (Raw::Int(-1), WireType::U32),
            (Raw::Int(1 << 32), WireType::U32),
            (Raw::Int(i64::from(i32::MAX) + 1), WireType::I32),
            (Raw::Int(2), WireType::Bool),
            (Raw::Float(1.0), WireType::U16),
        ];
        for (raw, wire) in cases {
            assert_eq!(
                write_raw(raw, wire, ByteOrder::Abcd),
                Err(EncodeError::OutOfRange),
                "{raw:?} {wire:?}"
            );
        }
        assert_eq!(
            write_raw(Raw::Float(f32::NAN), WireType::F32, ByteOrder::Abcd),
            Err(EncodeError::NotFinite)
        );
    }

    #[test]
    fn encode_number_inverts_scale_and_offset() {
        let mut d = decode(WireType::I16, ByteOrder::Abcd);
        d.scale = 0.1;
        d.offset = -40.0;
        // published = raw * 0.1 - 40  →  21.5 = 615 * 0.1 - 40
        assert_eq!(encode_number(21.5, &d), Ok(Value::U16(615)));
        assert_eq!(encode_number(-43.2, &d), Ok(Value::U16((-32i16) as u16)));
        for order in ORDERS {
            let mut d = decode(WireType::F32, order);
            d.scale = 2.0;
            let value = encode_number(246.912, &d).expect("encodes");
            assert_eq!(value, regs(f32_to_registers(123.456, order)));
        }
        let mut d = decode(WireType::U16, ByteOrder::Abcd);
        assert_eq!(encode_number(70000.0, &d), Err(EncodeError::OutOfRange));
        assert_eq!(encode_number(f64::NAN, &d), Err(EncodeError::NotFinite));
        d.scale = 0.0;
        assert_eq!(encode_number(1.0, &d), Err(EncodeError::NotFinite));
        let mut d = decode(WireType::F32, ByteOrder::Abcd);
        assert_eq!(encode_number(1e300, &d), Err(EncodeError::OutOfRange));
        d.bits = Some(BitField { shift: 0, width: 4 });
        assert_eq!(encode_number(1.0, &d), Err(EncodeError::BitField));
    }

    #[test]
    fn encode_number_round_trips_every_type_and_order() {
        let cases: [(WireType, &[f64]); 5] = [
            (WireType::U16, &[0.0, 655.35]),
            (WireType::I16, &[-327.68, 0.0, 327.67]),
            (WireType::U32, &[0.0, 42_949_672.95]),
            (WireType::I32, &[-21_474_836.48, 21_474_836.47]),
            (WireType::F32, &[-1.25, 0.0, 3.5]),
        ];
        for order in ORDERS {
            for (wire, numbers) in cases {
                let mut d = decode(wire, order);
                d.scale = if wire == WireType::F32 { 1.0 } else { 0.01 };
                for &n in numbers {
                    let value = encode_number(n, &d).expect("encodes");
                    let raw = decode_raw(&value, &d).expect("decodes");
                    let back = match raw {
                        Raw::Int(i) => i as f64 * d.scale + d.offset,
                        Raw::Float(f) => f64::from(f) * d.scale + d.offset,
                        Raw::Bool(_) => f64::NAN,
                    };
                    assert!(
                        (back - n).abs() <= 1e-12 * n.abs().max(1.0),
                        "{wire:?} {order:?} {n} → {back}"
                    );
                }
            }
        }
    }

    #[test]
    fn maps_both_directions() {
        let mut d = decode(WireType::U16, ByteOrder::Abcd);
        d.map = Some(BTreeMap::from([
            (0, "Disarmed".to_string()),
            (1, "Armed".to_string()),
            (2, "Alarm".to_string()),
        ]));
        assert_eq!(map_key(&d, "Armed"), Some(1));
        assert_eq!(map_key(&d, "armed"), None, "texts match exactly");
        assert_eq!(encode_text("Alarm", &d), Ok(Value::U16(2)));
        assert_eq!(
            encode_text("7", &d),
            Ok(Value::U16(7)),
            "unmapped raw number"
        );
        assert_eq!(encode_text("Unknown", &d), Err(EncodeError::UnknownText));
        assert_eq!(encode_text("-1", &d), Err(EncodeError::OutOfRange));
        let mut b = decode(WireType::Bool, ByteOrder::Abcd);
        b.map = Some(BTreeMap::from([
            (0, "Closed".to_string()),
            (1, "Open".to_string()),
        ]));
        assert_eq!(encode_text("Open", &b), Ok(Value::Bool(true)));
        assert_eq!(encode_text("Closed", &b), Ok(Value::Bool(false)));
        for order in ORDERS {
            let mut d = decode(WireType::I32, order);
            d.map = Some(BTreeMap::from([(-70000, "Low".to_string())]));
            let value = encode_text("Low", &d).expect("encodes");
            assert_eq!(read_raw(&value, WireType::I32, order), Ok(Raw::Int(-70000)));
        }
    }

    #[test]
    fn encode_text_without_map_parses_numbers_and_booleans() {
        let mut d = decode(WireType::U16, ByteOrder::Abcd);
        d.scale = 0.5;
        assert_eq!(encode_text("10", &d), Ok(Value::U16(20)));
        assert_eq!(encode_text("true", &d), Ok(Value::U16(2)));
        assert_eq!(encode_text("ten", &d), Err(EncodeError::UnknownText));
        let b = decode(WireType::Bool, ByteOrder::Abcd);
        assert_eq!(encode_text("true", &b), Ok(Value::Bool(true)));
        assert_eq!(encode_text("0", &b), Ok(Value::Bool(false)));
        assert_eq!(encode_text("2", &b), Err(EncodeError::OutOfRange));
        let mut f = decode(WireType::U16, ByteOrder::Abcd);
        f.bits = Some(BitField { shift: 0, width: 1 });
        assert_eq!(encode_text("1", &f), Err(EncodeError::BitField));
    }
}
