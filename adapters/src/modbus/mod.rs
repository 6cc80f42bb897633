//! Modbus TCP and RTU.

pub mod config;

pub use config::{Backoff, ModbusConfig, ModbusPoint, Parity, Table, Transport};
