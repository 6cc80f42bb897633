//! One controller's transport and every request made safe: a TCP connection of its own, or
//! its unit's turn on a shared serial [`super::bus`].
//!
//! Known tokio-modbus hazards and what this module does about them:
//! - A request without an answer would wait forever: every request (and every connect) runs
//!   under a timeout.
//! - After a timeout, a late response desynchronises a reused context (slowtec/tokio-modbus#324):
//!   on TCP any timeout, I/O error, protocol error or malformed response drops the connection
//!   and the next attempt reconnects; on a serial bus the bus task discards the context and
//!   flushes the port, and keeps the port open for the other units (see [`super::bus`]).
//! - RTU devices need silence between frames (slowtec/tokio-modbus#180): on TCP
//!   `inter_frame_delay` is kept between the end of one exchange and the start of the next; on
//!   a serial bus the bus task keeps the larger of every unit's `inter_frame_delay` and the
//!   3.5-character silence of the serial line specification (1.75 ms above 19200 baud).
//! - Bus access is serialised: one task owns a TCP link and awaits each exchange; one bus task
//!   owns a serial port and serves one exchange at a time.
//!
//! A device's exception response is an answer, not a failure: it is returned as
//! [`Call::Exception`] and the connection stays.

use std::borrow::Cow;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_modbus::client::{Client, Context};
use tokio_modbus::{Request, Slave};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::attempt::{Attempt, Call, SILENT, classify};
use super::bus::BusHandle;
use super::config::{ModbusConfig, Transport};

/// How long a clean disconnect may take before the context is simply dropped.
const DISCONNECT_GRACE: Duration = Duration::from_millis(250);
/// The shortest connect timeout (a TCP handshake to a remote panel may take longer than one
/// request's timeout).
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The transport of one controller and its request discipline.
pub(crate) struct Link {
    /// Requests, retries, timeouts, failures (read by the gateway's metrics).
    pub(crate) stats: std::sync::Arc<crate::stats::LinkStats>,
    name: String,
    unit: u8,
    timeout: Duration,
    retries: u32,
    wire: Wire,
}

enum Wire {
    /// A connection of its own.
    Tcp(TcpWire),
    /// A unit on a serial bus shared with other controllers.
    Bus(BusHandle),
}

struct TcpWire {
    host: String,
    port: u16,
    inter_frame_delay: Duration,
    ctx: Option<Context>,
    quiet_until: Option<Instant>,
}

impl Link {
    /// Whether `config`'s link can exist (serial settings, timeout), without any I/O.
    pub(crate) fn check(config: &ModbusConfig) -> Result<(), String> {
        if let Transport::Rtu { line, .. } = &config.transport {
            line.check()?;
        }
        if config.timeout.is_zero() {
            return Err("timeout must be longer than zero".into());
        }
        Ok(())
    }

    /// A link that is not connected yet: its own TCP connection, or its unit on `bus` (which
    /// an RTU controller needs).
    pub(crate) fn new(config: &ModbusConfig, bus: Option<BusHandle>) -> Result<Link, String> {
        Link::check(config)?;
        let wire = match (&config.transport, bus) {
            (_, Some(bus)) => Wire::Bus(bus),
            (Transport::Tcp { host, port }, None) => Wire::Tcp(TcpWire {
                host: host.clone(),
                port: *port,
                inter_frame_delay: config.inter_frame_delay,
                ctx: None,
                quiet_until: None,
            }),
            (Transport::Rtu { device, .. }, None) => {
                return Err(format!("{} has no serial bus task", device.display()));
            }
        };
        Ok(Link {
            stats: std::sync::Arc::default(),
            name: config.name.clone(),
            unit: config.unit,
            timeout: config.timeout,
            retries: config.retries,
            wire,
        })
    }

    /// Connects (TCP), replacing any open context. On a serial bus there is nothing to open
    /// per unit (the bus task opens the port); the first poll tells whether the unit answers.
    pub(crate) async fn open(&mut self) -> Result<(), String> {
        let Wire::Tcp(tcp) = &mut self.wire else {
            return Ok(());
        };
        tcp.ctx = None;
        let limit = self.timeout.max(MIN_CONNECT_TIMEOUT);
        let (host, port) = (&tcp.host, tcp.port);
        let stream = timeout(limit, connect_tcp(host, port))
            .await
            .map_err(|_| {
                format!(
                    "connect to {host}:{port}: no answer within {} ms",
                    limit.as_millis()
                )
            })??;
        tcp.ctx = Some(tokio_modbus::client::tcp::attach_slave(
            stream,
            Slave(self.unit),
        ));
        Ok(())
    }

    /// Closes the connection cleanly (bounded by a short grace period); a serial bus stays
    /// open for the other units.
    pub(crate) async fn close(&mut self) {
        let Wire::Tcp(tcp) = &mut self.wire else {
            return;
        };
        if let Some(mut ctx) = tcp.ctx.take() {
            match timeout(DISCONNECT_GRACE, ctx.disconnect()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(controller = %self.name, error = %e, "disconnect failed"),
                Err(_) => debug!(controller = %self.name, "disconnect timed out"),
            }
        }
    }

    /// Sends `request`, retrying up to `retries` times after a timeout or transport failure,
    /// each retry on a fresh context.
    pub(crate) async fn call(
        &mut self,
        request: &Request<'static>,
        stop: &CancellationToken,
    ) -> Call {
        let mut failure = String::from("not connected");
        for attempt in 0..=self.retries {
            if attempt > 0 {
                debug!(controller = %self.name, attempt, reason = %failure, "retrying");
            }
            self.stats.request(attempt > 0);
            let result = match &mut self.wire {
                Wire::Tcp(tcp) => {
                    if tcp.ctx.is_none() {
                        match stop.run_until_cancelled(self.open()).await {
                            None => return Call::Stopped,
                            Some(Err(e)) => {
                                failure = e;
                                continue;
                            }
                            Some(Ok(())) => {}
                        }
                    }
                    let Wire::Tcp(tcp) = &mut self.wire else {
                        continue;
                    };
                    match tcp.attempt(request, self.timeout, stop).await {
                        Some(result) => result,
                        None => return Call::Stopped,
                    }
                }
                Wire::Bus(bus) => {
                    match bus.exchange(self.unit, request, self.timeout, stop).await {
                        Some(result) => result,
                        None => return Call::Stopped,
                    }
                }
            };
            match result {
                Ok(call) => return call,
                Err(e) => {
                    if e.starts_with(SILENT) {
                        self.stats.timeout();
                    }
                    failure = e;
                }
            }
        }
        self.stats.failure();
        Call::Broken(failure)
    }
}

impl TcpWire {
    /// One attempt on the open connection: the answer or exception, or why it failed (the
    /// connection is then dropped: it may be out of step with the device). `None` on stop.
    async fn attempt(
        &mut self,
        request: &Request<'static>,
        limit: Duration,
        stop: &CancellationToken,
    ) -> Option<Result<Call, String>> {
        if let Some(quiet) = self.quiet_until {
            stop.run_until_cancelled(sleep_until(quiet)).await?;
        }
        let Some(ctx) = self.ctx.as_mut() else {
            return Some(Err("not connected".into()));
        };
        let outcome = stop
            .run_until_cancelled(timeout(limit, ctx.call(request.clone())))
            .await?;
        self.quiet_until =
            (!self.inter_frame_delay.is_zero()).then(|| Instant::now() + self.inter_frame_delay);
        match classify(request, outcome, limit) {
            Attempt::Done(call) => Some(Ok(call)),
            Attempt::Silent(e) | Attempt::Garbled(e) | Attempt::Failed(e) => {
                self.ctx = None;
                Some(Err(e))
            }
        }
    }
}

async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("resolve {host}: {e}"))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // One small request, one small answer: never wait for Nagle.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = format!("connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// The FC16 request for `values` at `address`.
pub(crate) fn write_registers(address: u16, values: &[u16]) -> Request<'static> {
    Request::WriteMultipleRegisters(address, Cow::Owned(values.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::Parity;
    use crate::modbus::attempt::{check_response, rtu_silence};
    use crate::serial::LineSettings;
    use std::path::PathBuf;
    use tokio_modbus::Response;

    #[test]
    fn bit_reads_are_trimmed_and_short_reads_refused() {
        let r = check_response(
            &Request::ReadCoils(0, 3),
            Response::ReadCoils(vec![true, false, true, false, false, false, false, false]),
        )
        .unwrap();
        assert_eq!(r, Response::ReadCoils(vec![true, false, true]));
        assert!(
            check_response(
                &Request::ReadDiscreteInputs(0, 9),
                Response::ReadDiscreteInputs(vec![false; 8])
            )
            .is_err()
        );
    }

    #[test]
    fn register_reads_must_have_the_asked_count() {
        assert!(
            check_response(
                &Request::ReadInputRegisters(0, 2),
                Response::ReadInputRegisters(vec![1, 2])
            )
            .is_ok()
        );
        let e = check_response(
            &Request::ReadHoldingRegisters(0, 2),
            Response::ReadHoldingRegisters(vec![1]),
        )
        .unwrap_err();
        assert!(e.contains("1 registers for 2 asked"), "{e}");
        // A holding read answered with input registers is no answer.
        assert!(
            check_response(
                &Request::ReadHoldingRegisters(0, 1),
                Response::ReadInputRegisters(vec![1])
            )
            .is_err()
        );
    }

    #[test]
    fn writes_must_be_echoed() {
        assert!(
            check_response(
                &Request::WriteSingleCoil(3, true),
                Response::WriteSingleCoil(3, true)
            )
            .is_ok()
        );
        assert!(
            check_response(
                &Request::WriteSingleCoil(3, true),
                Response::WriteSingleCoil(3, false)
            )
            .is_err()
        );
        assert!(
            check_response(
                &Request::WriteSingleRegister(3, 7),
                Response::WriteSingleRegister(4, 7)
            )
            .is_err()
        );
        assert!(
            check_response(
                &write_registers(5, &[1, 2]),
                Response::WriteMultipleRegisters(5, 2)
            )
            .is_ok()
        );
        assert!(
            check_response(
                &write_registers(5, &[1, 2]),
                Response::WriteMultipleRegisters(5, 1)
            )
            .is_err()
        );
        assert!(
            check_response(
                &Request::MaskWriteRegister(1, 0xFFFE, 1),
                Response::MaskWriteRegister(1, 0xFFFE, 1)
            )
            .is_ok()
        );
        assert!(
            check_response(
                &Request::MaskWriteRegister(1, 0xFFFE, 1),
                Response::MaskWriteRegister(1, 0xFFFE, 0)
            )
            .is_err()
        );
    }

    fn rtu(data_bits: u8, stop_bits: u8, baud: u32) -> ModbusConfig {
        let line = LineSettings {
            baud,
            parity: Parity::Even,
            data_bits,
            stop_bits,
            rs485: Default::default(),
        };
        ModbusConfig::new(
            "c",
            Transport::Rtu {
                device: PathBuf::from("/dev/null"),
                line,
            },
            1,
        )
    }

    #[test]
    fn rtu_frames_are_separated_by_three_and_a_half_characters() {
        assert_eq!(rtu_silence(9600), Duration::from_secs_f64(38.5 / 9600.0));
        assert!(rtu_silence(9600) > Duration::from_millis(4));
        assert_eq!(rtu_silence(115_200), Duration::from_micros(1750));
    }

    #[test]
    fn impossible_serial_settings_are_refused() {
        assert!(Link::check(&rtu(8, 1, 19200)).is_ok());
        assert!(Link::check(&rtu(7, 2, 9600)).is_ok());
        let check = |c: ModbusConfig| Link::check(&c).unwrap_err();
        assert!(check(rtu(9, 1, 9600)).contains("data bits"));
        assert!(check(rtu(8, 3, 9600)).contains("stop bits"));
        assert!(check(rtu(8, 1, 0)).contains("baud"));
        let mut slow_rts = rtu(8, 1, 9600);
        if let Transport::Rtu { line, .. } = &mut slow_rts.transport {
            line.rs485 = crate::serial::Rs485Mode::On(crate::serial::Rs485 {
                delay_before_send: Duration::from_millis(250),
                ..Default::default()
            });
        }
        assert!(check(slow_rts).contains("at most 100 ms"));
    }
}
