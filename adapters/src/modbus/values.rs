//! From the words and bits of a read request to each point's raw [`Value`].
//!
//! Coils, discrete inputs and register bits are [`Value::Bool`]; a one-register point is
//! [`Value::U16`]; a point of two or more registers is [`Value::Registers`] in wire order (the
//! mapping engine applies byte order, sign and scale).

use crate::point::Value;

use super::config::ModbusPoint;

/// What one read request returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BlockData {
    /// FC01/FC02: one bool per address, exactly `count` of them.
    Bits(Vec<bool>),
    /// FC03/FC04: one word per address, exactly `count` of them.
    Registers(Vec<u16>),
}

/// The value of `point` inside `data`, read from address `start` on; `None` if the point lies
/// outside the data (which a checked plan never produces).
pub(crate) fn value_of(point: &ModbusPoint, start: u16, data: &BlockData) -> Option<Value> {
    let offset = usize::from(point.address.checked_sub(start)?);
    let count = usize::from(point.count);
    match data {
        BlockData::Bits(bits) => bits.get(offset).copied().map(Value::Bool),
        BlockData::Registers(words) => {
            let words = words.get(offset..offset.checked_add(count)?)?;
            Some(match (point.bit, words) {
                (Some(bit), [word, ..]) => Value::Bool(word & (1 << (bit & 15)) != 0),
                (None, [word]) => Value::U16(*word),
                (None, words) => Value::Registers(words.to_vec()),
                (Some(_), []) => return None,
            })
        }
    }
}

/// A placeholder of the point's shape (false, 0, zeros), for a point reported with
/// [`crate::Quality::Bad`] before any value was ever read.
pub(crate) fn zero_value(point: &ModbusPoint) -> Value {
    if point.table.is_bits() || point.bit.is_some() {
        Value::Bool(false)
    } else if point.count <= 1 {
        Value::U16(0)
    } else {
        Value::Registers(vec![0; usize::from(point.count)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PointId;
    use crate::modbus::Table;

    fn point(table: Table, address: u16, count: u16, bit: Option<u8>) -> ModbusPoint {
        ModbusPoint {
            id: PointId("p".into()),
            table,
            address,
            count,
            bit,
            writable: false,
            polled: true,
        }
    }

    #[test]
    fn registers_become_u16_bits_or_register_lists() {
        let b = 100;
        let data = BlockData::Registers(vec![0x0001, 0x8000, 0x1234, 0x5678]);
        assert_eq!(
            value_of(&point(Table::Holding, 100, 1, None), b, &data),
            Some(Value::U16(1))
        );
        assert_eq!(
            value_of(&point(Table::Holding, 102, 2, None), b, &data),
            Some(Value::Registers(vec![0x1234, 0x5678]))
        );
        assert_eq!(
            value_of(&point(Table::Holding, 101, 1, Some(15)), b, &data),
            Some(Value::Bool(true))
        );
        assert_eq!(
            value_of(&point(Table::Holding, 101, 1, Some(14)), b, &data),
            Some(Value::Bool(false))
        );
    }

    #[test]
    fn bits_become_bools() {
        let b = 8;
        let data = BlockData::Bits(vec![false, true, false]);
        assert_eq!(
            value_of(&point(Table::DiscreteInput, 9, 1, None), b, &data),
            Some(Value::Bool(true))
        );
    }

    #[test]
    fn points_outside_the_data_have_no_value() {
        let b = 10;
        let data = BlockData::Registers(vec![1, 2]);
        assert_eq!(value_of(&point(Table::Input, 9, 1, None), b, &data), None);
        assert_eq!(value_of(&point(Table::Input, 11, 2, None), b, &data), None);
    }

    #[test]
    fn zero_values_have_the_point_shape() {
        assert_eq!(
            zero_value(&point(Table::Coil, 0, 1, None)),
            Value::Bool(false)
        );
        assert_eq!(
            zero_value(&point(Table::Holding, 0, 1, Some(3))),
            Value::Bool(false)
        );
        assert_eq!(zero_value(&point(Table::Input, 0, 1, None)), Value::U16(0));
        assert_eq!(
            zero_value(&point(Table::Input, 0, 2, None)),
            Value::Registers(vec![0, 0])
        );
    }
}
