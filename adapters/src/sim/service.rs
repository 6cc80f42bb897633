//! The tokio-modbus server [`Service`]: one Modbus request against the shared [`SimState`].
//!
//! Function codes served: 01, 02, 03, 04, 05, 06, 15, 16, 22 (unless switched off), 23.
//! Others: IllegalFunction. Quantities outside the protocol's limits: IllegalDataValue. Unit
//! ids other than 1 and 2: GatewayTargetDevice (0x0B), as a TCP gateway answers for a device
//! it does not have.

use std::future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use tokio::time::Instant;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tracing::debug;

use crate::modbus::Table;

use super::state::SimState;

/// Serves requests from one connection.
#[derive(Clone, Debug)]
pub(crate) struct PanelService {
    pub(crate) state: Arc<Mutex<SimState>>,
    /// Requests served (answers and exceptions), for tests and the benchmark.
    pub(crate) requests: Arc<AtomicU64>,
}

impl Service for PanelService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: SlaveRequest<'static>) -> Self::Future {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = handle(
            &mut self.state.lock(),
            req.slave,
            req.request,
            Instant::now(),
        );
        if let Err(code) = &result {
            debug!(unit = req.slave, exception = ?code, "sim: request refused");
        }
        future::ready(result)
    }
}

fn quantity(count: usize, max: usize) -> Result<u16, ExceptionCode> {
    if (1..=max).contains(&count) {
        u16::try_from(count).map_err(|_| ExceptionCode::IllegalDataValue)
    } else {
        Err(ExceptionCode::IllegalDataValue)
    }
}

/// Serves one request.
pub(crate) fn handle(
    state: &mut SimState,
    unit: u8,
    request: Request<'_>,
    now: Instant,
) -> Result<Response, ExceptionCode> {
    if !state.has_unit(unit) {
        return Err(ExceptionCode::GatewayTargetDevice);
    }
    match request {
        Request::ReadCoils(address, count) => {
            quantity(usize::from(count), 2000)?;
            state
                .read_bits(unit, Table::Coil, address, count)
                .map(Response::ReadCoils)
        }
        Request::ReadDiscreteInputs(address, count) => {
            quantity(usize::from(count), 2000)?;
            state
                .read_bits(unit, Table::DiscreteInput, address, count)
                .map(Response::ReadDiscreteInputs)
        }
        Request::ReadHoldingRegisters(address, count) => {
            quantity(usize::from(count), 125)?;
            state
                .read_registers(unit, Table::Holding, address, count)
                .map(Response::ReadHoldingRegisters)
        }
        Request::ReadInputRegisters(address, count) => {
            quantity(usize::from(count), 125)?;
            state
                .read_registers(unit, Table::Input, address, count)
                .map(Response::ReadInputRegisters)
        }
        Request::WriteSingleCoil(address, on) => {
            state.write_coils(unit, address, &[on])?;
            Ok(Response::WriteSingleCoil(address, on))
        }
        Request::WriteMultipleCoils(address, coils) => {
            let count = quantity(coils.len(), 1968)?;
            state.write_coils(unit, address, &coils)?;
            Ok(Response::WriteMultipleCoils(address, count))
        }
        Request::WriteSingleRegister(address, value) => {
            state.write_holding(unit, address, &[value], now)?;
            Ok(Response::WriteSingleRegister(address, value))
        }
        Request::WriteMultipleRegisters(address, words) => {
            let count = quantity(words.len(), 123)?;
            state.write_holding(unit, address, &words, now)?;
            Ok(Response::WriteMultipleRegisters(address, count))
        }
        Request::MaskWriteRegister(address, and, or) => {
            state.mask_write(unit, address, and, or, now)?;
            Ok(Response::MaskWriteRegister(address, and, or))
        }
        Request::ReadWriteMultipleRegisters(read_address, read_count, write_address, words) => {
            quantity(usize::from(read_count), 125)?;
            quantity(words.len(), 121)?;
            // Both ranges are checked before anything is written.
            if !state.has(unit, Table::Holding, read_address, read_count) {
                return Err(ExceptionCode::IllegalDataAddress);
            }
            state.write_holding(unit, write_address, &words, now)?;
            state
                .read_registers(unit, Table::Holding, read_address, read_count)
                .map(Response::ReadWriteMultipleRegisters)
        }
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::layout::{io, panel};
    use std::borrow::Cow;

    #[test]
    fn requests_are_served_and_refused_like_a_device() {
        let now = Instant::now();
        let mut s = SimState::new(false, now);
        assert_eq!(
            handle(&mut s, 3, Request::ReadCoils(0, 1), now),
            Err(ExceptionCode::GatewayTargetDevice)
        );
        assert_eq!(
            handle(&mut s, io::UNIT, Request::ReadCoils(0, 0), now),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(
            handle(&mut s, io::UNIT, Request::ReadInputRegisters(0, 126), now),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(
            handle(&mut s, io::UNIT, Request::WriteSingleCoil(3, true), now),
            Ok(Response::WriteSingleCoil(3, true))
        );
        assert_eq!(
            handle(&mut s, io::UNIT, Request::ReadDiscreteInputs(11, 1), now),
            Ok(Response::ReadDiscreteInputs(vec![true]))
        );
        assert_eq!(
            handle(
                &mut s,
                panel::UNIT,
                Request::WriteMultipleRegisters(panel::PGM, Cow::Owned(vec![0x0F])),
                now
            ),
            Ok(Response::WriteMultipleRegisters(panel::PGM, 1))
        );
        assert_eq!(
            handle(
                &mut s,
                panel::UNIT,
                Request::ReadWriteMultipleRegisters(
                    panel::PGM,
                    1,
                    panel::PGM,
                    Cow::Owned(vec![0x01])
                ),
                now
            ),
            Ok(Response::ReadWriteMultipleRegisters(vec![0x01]))
        );
        assert_eq!(
            handle(&mut s, panel::UNIT, Request::ReportServerId, now),
            Err(ExceptionCode::IllegalFunction)
        );
    }
}
