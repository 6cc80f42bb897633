//! Which Modbus function a write becomes.
//!
//! | Point | Value | Function |
//! |---|---|---|
//! | coil | `Bool` | FC05 write single coil |
//! | holding, one register | `U16` (or `Registers` of one) | FC06 write single register |
//! | holding, several registers | `Registers` of exactly `count` | FC16 write multiple registers |
//! | holding register bit | `Bool` | FC22 mask write when `mask_write`, else read-modify-write |
//!
//! The read-modify-write (FC03 then FC06) is **not atomic**: a change the controller itself
//! makes to the other 15 bits between the read and the write is overwritten. Prefer devices
//! with FC22; the adapter falls back to read-modify-write on its own when a device answers FC22
//! with IllegalFunction.

use crate::event::WriteError;
use crate::point::Value;

use super::config::{ModbusPoint, Table};

/// One write on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WriteOp {
    /// FC05.
    Coil { address: u16, on: bool },
    /// FC06.
    Register { address: u16, value: u16 },
    /// FC16.
    Registers { address: u16, values: Vec<u16> },
    /// FC22, or FC03 + FC06 when the device lacks FC22.
    Bit { address: u16, bit: u8, on: bool },
}

impl WriteOp {
    /// The FC22 masks that set bit `bit` to `on` and leave the others:
    /// `result = (current & and) | (or & !and)`.
    pub(crate) fn masks(bit: u8, on: bool) -> (u16, u16) {
        let mask = 1u16 << (bit & 15);
        (!mask, if on { mask } else { 0 })
    }

    /// The register value after setting `bit` of `current` to `on`.
    pub(crate) fn with_bit(current: u16, bit: u8, on: bool) -> u16 {
        let mask = 1u16 << (bit & 15);
        if on { current | mask } else { current & !mask }
    }
}

/// The write that puts `value` into `point`, or why it cannot be written.
pub(crate) fn write_op(point: &ModbusPoint, value: &Value) -> Result<WriteOp, WriteError> {
    let id = &point.id;
    if !point.writable || !point.table.is_writable() {
        return Err(WriteError::NotWritable(format!("{id} is read-only")));
    }
    let shape = |expected: &str| {
        WriteError::NotWritable(format!("{id} takes {expected}, not {}", describe(value)))
    };
    match (point.table, point.bit, value) {
        (Table::Coil, _, Value::Bool(on)) => Ok(WriteOp::Coil {
            address: point.address,
            on: *on,
        }),
        (Table::Coil, _, _) => Err(shape("a bool")),
        (Table::Holding, Some(bit), Value::Bool(on)) => Ok(WriteOp::Bit {
            address: point.address,
            bit,
            on: *on,
        }),
        (Table::Holding, Some(_), _) => Err(shape("a bool")),
        (Table::Holding, None, Value::U16(v)) if point.count == 1 => Ok(WriteOp::Register {
            address: point.address,
            value: *v,
        }),
        (Table::Holding, None, Value::Registers(words))
            if words.len() == usize::from(point.count) =>
        {
            match words.as_slice() {
                [one] => Ok(WriteOp::Register {
                    address: point.address,
                    value: *one,
                }),
                _ => Ok(WriteOp::Registers {
                    address: point.address,
                    values: words.clone(),
                }),
            }
        }
        (Table::Holding, None, _) if point.count == 1 => Err(shape("one register (u16)")),
        (Table::Holding, None, _) => Err(shape(&format!("{} registers", point.count))),
        (Table::DiscreteInput | Table::Input, _, _) => {
            Err(WriteError::NotWritable(format!("{id} is read-only")))
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Bool(b) => format!("the bool {b}"),
        Value::U16(v) => format!("the u16 {v}"),
        Value::Registers(r) => format!("{} registers", r.len()),
        Value::Bytes(b) => format!("{} bytes", b.len()),
        Value::Record(fields) => format!("a record of {} fields", fields.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PointId;

    fn point(table: Table, count: u16, bit: Option<u8>, writable: bool) -> ModbusPoint {
        ModbusPoint {
            id: PointId("p1".into()),
            table,
            address: 7,
            count,
            bit,
            writable,
            polled: true,
        }
    }

    #[test]
    fn each_point_kind_gets_its_function() {
        assert_eq!(
            write_op(&point(Table::Coil, 1, None, true), &Value::Bool(true)),
            Ok(WriteOp::Coil {
                address: 7,
                on: true
            })
        );
        assert_eq!(
            write_op(&point(Table::Holding, 1, None, true), &Value::U16(9)),
            Ok(WriteOp::Register {
                address: 7,
                value: 9
            })
        );
        assert_eq!(
            write_op(
                &point(Table::Holding, 1, None, true),
                &Value::Registers(vec![9])
            ),
            Ok(WriteOp::Register {
                address: 7,
                value: 9
            })
        );
        assert_eq!(
            write_op(
                &point(Table::Holding, 2, None, true),
                &Value::Registers(vec![1, 2])
            ),
            Ok(WriteOp::Registers {
                address: 7,
                values: vec![1, 2]
            })
        );
        assert_eq!(
            write_op(
                &point(Table::Holding, 1, Some(3), true),
                &Value::Bool(false)
            ),
            Ok(WriteOp::Bit {
                address: 7,
                bit: 3,
                on: false
            })
        );
    }

    #[test]
    fn read_only_points_and_wrong_shapes_are_not_writable() {
        let not_writable =
            |r: Result<WriteOp, WriteError>| matches!(r, Err(WriteError::NotWritable(_)));
        assert!(not_writable(write_op(
            &point(Table::Coil, 1, None, false),
            &Value::Bool(true)
        )));
        assert!(not_writable(write_op(
            &point(Table::Input, 1, None, true),
            &Value::U16(1)
        )));
        assert!(not_writable(write_op(
            &point(Table::Coil, 1, None, true),
            &Value::U16(1)
        )));
        assert!(not_writable(write_op(
            &point(Table::Holding, 2, None, true),
            &Value::U16(1)
        )));
        assert!(not_writable(write_op(
            &point(Table::Holding, 2, None, true),
            &Value::Registers(vec![1, 2, 3])
        )));
        let Err(WriteError::NotWritable(msg)) =
            write_op(&point(Table::Holding, 1, Some(0), true), &Value::U16(1))
        else {
            panic!("a u16 into a bit must be refused");
        };
        assert!(msg.contains("p1") && msg.contains("bool"), "{msg}");
    }

    #[test]
    fn masks_set_and_clear_one_bit() {
        for bit in 0..16u8 {
            for current in [0u16, 0xFFFF, 0xA5A5] {
                for on in [false, true] {
                    let (and, or) = WriteOp::masks(bit, on);
                    let result = (current & and) | (or & !and);
                    assert_eq!(result, WriteOp::with_bit(current, bit, on));
                    assert_eq!(result & (1 << bit) != 0, on);
                    assert_eq!(result & !(1 << bit), current & !(1 << bit));
                }
            }
        }
    }
}
