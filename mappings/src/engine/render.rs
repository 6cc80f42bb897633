//! Raw value → published value: map or scale/offset, then the XML lexical form of the event's
//! declared data type.
//!
//! The engine first computes a [`Sample`] (cheap, `Copy`, no allocation) and compares it with
//! the last published one; only a sample that is published is rendered to text.
//!
//! Lexical forms: `xs:boolean` is `true`/`false`; `xs:int` an integer without decimals (the
//! scaled value rounded to the nearest integer, and it must fit 32 bits); `xs:float` and
//! `xs:double` Rust's shortest round-trip decimal form, never `NaN` or `INF`; `xs:string` the
//! mapped text, `true`/`false` for a bit, or the number.

use std::collections::BTreeMap;

use railgate_adapters::Value;

use super::decode::{DecodeError, Raw, decode_raw};
use crate::plan::{Decode, ItemType};

/// A published value: its XML lexical form and, for numeric data types, its number.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    /// The value as the event's data item carries it (e.g. `21.5`, `true`, `Armed`).
    pub text: String,
    /// The value as a number when the declared type is numeric (`xs:int`, `xs:float`,
    /// `xs:double`); `None` for `xs:boolean` and `xs:string`.
    pub number: Option<f64>,
}

/// A decoded value in the form it is published, before rendering.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sample {
    /// A boolean (`xs:boolean`, or a bit published as `xs:string`).
    Bool(bool),
    /// An `xs:int`.
    Int(i64),
    /// An `xs:float` (finite).
    Float(f32),
    /// An `xs:double`, or a number published as `xs:string` (finite).
    Double(f64),
    /// A raw key of the map; published as its text, or as its number when unmapped.
    Mapped(i64),
}

impl Sample {
    /// The sample as a number, for deadband comparisons.
    pub(crate) fn number(self) -> Option<f64> {
        match self {
            Sample::Int(i) => Some(i as f64),
            Sample::Float(f) => Some(f64::from(f)),
            Sample::Double(d) => Some(d),
            Sample::Bool(_) | Sample::Mapped(_) => None,
        }
    }
}

/// The raw key of a reading for map lookup: bits are 0/1, floats only when integral.
fn map_key(raw: Raw) -> Option<i64> {
    match raw {
        Raw::Bool(b) => Some(i64::from(b)),
        Raw::Int(i) => Some(i),
        Raw::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        Raw::Float(_) => None,
    }
}

/// Whether `text` is a valid lexical form of `ty` (mapped texts are the integrator's).
pub(super) fn valid_text(text: &str, ty: ItemType) -> bool {
    match ty {
        ItemType::String => true,
        ItemType::Boolean => matches!(text, "true" | "false" | "1" | "0"),
        ItemType::Int => text.parse::<i32>().is_ok(),
        ItemType::Float => text.parse::<f32>().is_ok_and(f32::is_finite),
        ItemType::Double => text.parse::<f64>().is_ok_and(f64::is_finite),
    }
}

/// Whether the published form of map key `key` is valid for `ty`.
fn check_mapped(
    map: &BTreeMap<i64, String>,
    key: i64,
    ty: ItemType,
) -> Result<Sample, DecodeError> {
    let valid = match map.get(&key) {
        Some(text) => valid_text(text, ty),
        None => match ty {
            ItemType::String | ItemType::Float | ItemType::Double => true,
            ItemType::Int => i32::try_from(key).is_ok(),
            ItemType::Boolean => key == 0 || key == 1,
        },
    };
    if valid {
        Ok(Sample::Mapped(key))
    } else {
        Err(DecodeError::NotRepresentable)
    }
}

/// Decodes a reading into the sample published as `ty`.
pub(crate) fn sample(value: &Value, decode: &Decode, ty: ItemType) -> Result<Sample, DecodeError> {
    let raw = decode_raw(value, decode)?;
    if let (Some(map), Some(key)) = (&decode.map, map_key(raw)) {
        return check_mapped(map, key, ty);
    }
    let unscaled = match raw {
        Raw::Bool(b) if matches!(ty, ItemType::Boolean | ItemType::String) => {
            return Ok(Sample::Bool(b));
        }
        Raw::Bool(b) => f64::from(u8::from(b)),
        Raw::Int(i) => i as f64,
        Raw::Float(f) => f64::from(f),
    };
    let n = unscaled * decode.scale + decode.offset;
    if !n.is_finite() {
        return Err(DecodeError::NotFinite);
    }
    match ty {
        ItemType::Boolean => Ok(Sample::Bool(n != 0.0)),
        ItemType::Int => {
            let rounded = n.round();
            if rounded < f64::from(i32::MIN) || rounded > f64::from(i32::MAX) {
                Err(DecodeError::OutOfRange)
            } else {
                Ok(Sample::Int(rounded as i64))
            }
        }
        ItemType::Float => {
            let f = n as f32;
            if f.is_finite() {
                Ok(Sample::Float(f))
            } else {
                Err(DecodeError::OutOfRange)
            }
        }
        ItemType::Double | ItemType::String => Ok(Sample::Double(n)),
    }
}

/// The published text of a map key: its mapped text, else its number.
pub(crate) fn mapped_text(decode: &Decode, key: i64) -> Option<&str> {
    decode.map.as_ref()?.get(&key).map(String::as_str)
}

/// Renders a sample as `ty`'s lexical form.
pub(crate) fn render(sample: Sample, decode: &Decode, ty: ItemType) -> Published {
    let text = match sample {
        Sample::Bool(b) => if b { "true" } else { "false" }.to_string(),
        Sample::Int(i) => i.to_string(),
        Sample::Float(f) => f.to_string(),
        Sample::Double(d) => d.to_string(),
        Sample::Mapped(key) => match mapped_text(decode, key) {
            Some(text) => text.to_string(),
            None => key.to_string(),
        },
    };
    let number = match (ty, sample) {
        (ItemType::Int | ItemType::Float | ItemType::Double, Sample::Mapped(_)) => {
            text.parse::<f64>().ok()
        }
        (ItemType::Int | ItemType::Float | ItemType::Double, _) => sample.number(),
        (ItemType::Boolean | ItemType::String, _) => None,
    };
    Published { text, number }
}

/// Decodes and renders one reading as the event's data type declares it: the whole pipeline
/// the engine runs for a value point, as one call (for tools, documentation and benchmarks).
pub fn decode_value(
    value: &Value,
    decode: &Decode,
    ty: ItemType,
) -> Result<Published, DecodeError> {
    sample(value, decode, ty).map(|s| render(s, decode, ty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::decode::u32_to_registers;
    use crate::plan::{BitField, ByteOrder, WireType};

    fn decode(wire: WireType) -> Decode {
        Decode::raw(wire, ByteOrder::Abcd)
    }

    fn text(value: &Value, d: &Decode, ty: ItemType) -> Result<String, DecodeError> {
        decode_value(value, d, ty).map(|p| p.text)
    }

    #[test]
    fn scale_and_offset() {
        let mut d = decode(WireType::I16);
        d.scale = 0.1;
        d.offset = -40.0;
        let p = decode_value(&Value::U16(615), &d, ItemType::Float).expect("decodes");
        assert_eq!(p.text, "21.5");
        assert_eq!(p.number, Some(21.5));
        // 0x8000 = -32768 → -3276.8 - 40
        assert_eq!(
            text(&Value::U16(0x8000), &d, ItemType::Float),
            Ok("-3316.8".into())
        );
        assert_eq!(
            text(&Value::U16(615), &d, ItemType::Int),
            Ok("22".into()),
            "xs:int rounds"
        );
    }

    #[test]
    fn lexical_forms_per_data_type() {
        let d = decode(WireType::U16);
        assert_eq!(text(&Value::U16(5), &d, ItemType::Int), Ok("5".into()));
        assert_eq!(text(&Value::U16(5), &d, ItemType::Float), Ok("5".into()));
        assert_eq!(text(&Value::U16(5), &d, ItemType::Double), Ok("5".into()));
        assert_eq!(text(&Value::U16(5), &d, ItemType::String), Ok("5".into()));
        assert_eq!(
            text(&Value::U16(5), &d, ItemType::Boolean),
            Ok("true".into())
        );
        assert_eq!(
            text(&Value::U16(0), &d, ItemType::Boolean),
            Ok("false".into())
        );
        let b = decode(WireType::Bool);
        assert_eq!(
            text(&Value::Bool(true), &b, ItemType::Boolean),
            Ok("true".into())
        );
        assert_eq!(
            text(&Value::Bool(false), &b, ItemType::String),
            Ok("false".into())
        );
        assert_eq!(text(&Value::Bool(true), &b, ItemType::Int), Ok("1".into()));
        let f = decode(WireType::F32);
        let wire =
            Value::Registers(u32_to_registers(123.456f32.to_bits(), ByteOrder::Abcd).to_vec());
        assert_eq!(text(&wire, &f, ItemType::Float), Ok("123.456".into()));
        // As a double, the f32's exact value shows.
        assert_eq!(
            text(&wire, &f, ItemType::Double),
            Ok("123.45600128173828".into())
        );
    }

    #[test]
    fn numbers_that_do_not_fit_are_rejected() {
        let d = decode(WireType::U32);
        let big = Value::Registers(vec![0xFFFF, 0xFFFF]);
        assert_eq!(text(&big, &d, ItemType::Int), Err(DecodeError::OutOfRange));
        assert_eq!(text(&big, &d, ItemType::Double), Ok("4294967295".into()));
        let mut huge = decode(WireType::F32);
        huge.scale = 1e30;
        let max = Value::Registers(u32_to_registers(f32::MAX.to_bits(), ByteOrder::Abcd).to_vec());
        // 3.4e68 is a fine double but no float.
        assert_eq!(
            text(&max, &huge, ItemType::Float),
            Err(DecodeError::OutOfRange)
        );
        assert!(text(&max, &huge, ItemType::Double).is_ok());
        huge.scale = 1e300;
        assert_eq!(
            text(&max, &huge, ItemType::Double),
            Err(DecodeError::NotFinite)
        );
        let nan = Value::Registers(vec![0x7FC0, 0]);
        assert_eq!(
            text(&nan, &decode(WireType::F32), ItemType::Float),
            Err(DecodeError::NotFinite)
        );
    }

    #[test]
    fn maps_publish_text_and_unmapped_numbers() {
        let mut d = decode(WireType::U16);
        d.map = Some(BTreeMap::from([
            (0, "Disarmed".to_string()),
            (1, "Armed".to_string()),
        ]));
        assert_eq!(
            text(&Value::U16(1), &d, ItemType::String),
            Ok("Armed".into())
        );
        assert_eq!(text(&Value::U16(9), &d, ItemType::String), Ok("9".into()));
        assert_eq!(
            text(&Value::U16(1), &d, ItemType::Int),
            Err(DecodeError::NotRepresentable),
            "`Armed` is no xs:int"
        );
        let p = decode_value(&Value::U16(9), &d, ItemType::Int).expect("decodes");
        assert_eq!((p.text.as_str(), p.number), ("9", Some(9.0)));
        let mut b = decode(WireType::Bool);
        b.map = Some(BTreeMap::from([(1, "Open".to_string())]));
        assert_eq!(
            text(&Value::Bool(true), &b, ItemType::String),
            Ok("Open".into())
        );
        assert_eq!(
            text(&Value::Bool(false), &b, ItemType::String),
            Ok("0".into())
        );
    }

    #[test]
    fn bit_field_then_map() {
        let mut d = decode(WireType::U16);
        d.bits = Some(BitField { shift: 4, width: 2 });
        d.map = Some(BTreeMap::from([
            (0, "Idle".to_string()),
            (3, "Fault".to_string()),
        ]));
        assert_eq!(
            text(&Value::U16(0x0030), &d, ItemType::String),
            Ok("Fault".into())
        );
        assert_eq!(
            text(&Value::U16(0xFFCF), &d, ItemType::String),
            Ok("Idle".into())
        );
        assert_eq!(
            text(&Value::U16(0x0010), &d, ItemType::String),
            Ok("1".into())
        );
    }
}
