//! Modbus TCP and RTU: the [`ModbusAdapter`], its configuration and its poll planning.
//!
//! The adapter owns one controller's link in one task. A TCP controller has a connection of its
//! own; RTU controllers on one serial device (units on one RS-485 line) share one [`BusTask`]
//! that owns the port and serialises every unit's requests ([`Buses`] groups them; see the
//! `bus` module for turns, gaps and what a silent unit does to the others: it slows them,
//! it does not take them down). Each controller keeps its own link state, poll interval,
//! timeout, retries, backoff and writes.
//!
//! # Contract
//! - **Reads** are planned once ([`plan::plan_poll`]): the fewest requests per table, merging
//!   points at most `max_gap` unread addresses apart (default 0: only adjacent points), at
//!   most `max_registers_per_request` /
//!   `max_bits_per_request` (capped at 125 / 2000), a point never split. A cycle starts every
//!   `poll_interval`, start to start; after an overrun the next starts at once (no burst).
//!   A write-only point ([`ModbusPoint::polled`] false) is never read, not even after a write.
//! - **Values**: [`crate::Value::Bool`] for coils, discrete inputs and register bits,
//!   [`crate::Value::U16`] for one register, [`crate::Value::Registers`] (wire order) for more.
//! - **Reporting**: after each (re)connect every point once, then only changes of raw value or
//!   quality.
//! - **Writes**: coil FC05; one register FC06; several registers FC16; register bit FC22 when
//!   `mask_write`, else read-modify-write (FC03 + FC06, *not atomic*: a change the device makes
//!   to the register's other bits in between is lost). A device answering FC22 with
//!   IllegalFunction is switched to read-modify-write for good (logged once). The reply is sent
//!   once the device acknowledged; the point's block is read back at once. Queued writes go
//!   before the remaining reads of a cycle. Errors: [`crate::WriteError::LinkDown`] while the
//!   link is down, [`crate::WriteError::Refused`] with the exception name and code (e.g.
//!   `IllegalDataAddress (exception 0x02)`), [`crate::WriteError::NotWritable`] for unknown or
//!   read-only points and values of the wrong shape.
//! - **Failures**: every request has `timeout`; a timeout, I/O or protocol error is retried
//!   `retries` times, each time on a fresh connection (TCP) or a fresh RTU context on a flushed
//!   port (RTU: the port stays open for the other units; it is reopened only after an I/O
//!   error), because a late answer would desynchronise a reused context. Then the link is down:
//!   `LinkEvent::Down` once, every known point once more with [`crate::Quality::Stale`], and
//!   reconnects after `backoff.initial`, doubling to `backoff.max`, ±20 % jitter.
//!   `LinkEvent::Up` when a poll cycle completes again.
//! - **Exceptions** on reads are answers, not failures: the block's points are
//!   [`crate::Quality::Bad`] (with their last value, or zero if none was ever read), the block
//!   is retried every cycle, and the exception is logged once per (block, code).
//! - `inter_frame_delay` of silence is kept between any two requests; on a serial port the
//!   larger of every unit's `inter_frame_delay` and the 3.5-character silence, between any two
//!   frames of any units.
//! - **Stop**: the token is honoured at every wait (also mid-request); the connection is
//!   closed and `run` returns `Ok(())`.

//!
//! [`probe::probe`] reads every polled point once, on the same link code, for commissioning.
//!
//! Without the `runtime` feature only [`config`] and [`plan`] are compiled: what the mapping
//! compiler produces and checks.

#[cfg(feature = "runtime")]
mod adapter;
mod attempt;
#[cfg(feature = "runtime")]
mod bus;
pub mod config;
#[cfg(feature = "runtime")]
mod link;
pub mod plan;
#[cfg(feature = "runtime")]
pub mod probe;
#[cfg(feature = "runtime")]
mod runner;
#[cfg(feature = "runtime")]
mod values;
#[cfg(feature = "runtime")]
mod write;

#[cfg(feature = "runtime")]
pub use adapter::ModbusAdapter;
#[cfg(feature = "runtime")]
pub use bus::{BusTask, Buses};
pub use config::{Backoff, ModbusConfig, ModbusPoint, Parity, Table, Transport};
pub use plan::{PollPlan, ReadBlock};
