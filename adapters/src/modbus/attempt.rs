//! What one Modbus request came to: the attempt on the wire ([`Attempt`]: an answer, silence,
//! a garbled frame, a failed transport) and the call after retries ([`Call`]); the checks an
//! answer must pass to count (it echoes the request, it holds what was asked); and the
//! 3.5-character silence of an RTU frame. Shared by a controller's own link (`link.rs`) and
//! the serial bus task (`bus.rs`), so neither takes from the other.

use std::time::Duration;

use tokio_modbus::{ExceptionCode, ProtocolError, Request, Response};

/// The result of one request, after retries.
#[derive(Debug)]
pub(crate) enum Call {
    /// The device answered as asked (read responses hold exactly the requested count).
    Answer(Response),
    /// The device answered with an exception; the link is fine.
    Exception(ExceptionCode),
    /// No usable answer after every attempt: the link is down. The text says why.
    Broken(String),
    /// The stop token was cancelled while waiting.
    Stopped,
}

/// What one attempt on the wire came to.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// An answer or an exception: [`Call::Answer`] or [`Call::Exception`].
    Done(Call),
    /// No answer within the timeout: the device is silent (the transport may be fine).
    Silent(String),
    /// An answer that does not fit the request (a late answer, noise, another unit).
    Garbled(String),
    /// The transport itself failed (I/O error).
    Failed(String),
}

/// What a request future of tokio-modbus under a timeout gives.
pub(crate) type Outcome = Result<tokio_modbus::Result<Response>, tokio::time::error::Elapsed>;

/// Classifies one attempt's `outcome` for `request`, made with the timeout `limit`.
pub(crate) fn classify(request: &Request<'_>, outcome: Outcome, limit: Duration) -> Attempt {
    match outcome {
        Ok(Ok(Err(code))) => Attempt::Done(Call::Exception(code)),
        Ok(Ok(Ok(response))) => match check_response(request, response) {
            Ok(response) => Attempt::Done(Call::Answer(response)),
            Err(e) => Attempt::Garbled(e),
        },
        Err(_elapsed) => Attempt::Silent(format!("{SILENT} {} ms", limit.as_millis())),
        Ok(Err(tokio_modbus::Error::Transport(e))) => Attempt::Failed(format!("I/O error: {e}")),
        Ok(Err(tokio_modbus::Error::Protocol(e))) => Attempt::Garbled(describe_protocol(&e)),
    }
}

/// How an attempt without an answer in time starts (counted as a timeout).
pub(crate) const SILENT: &str = "no response within";

/// The 3.5-character silence that ends an RTU frame (Modbus over serial line, 2.5.1.1): 11
/// bits per character, fixed at 1.75 ms above 19200 baud.
pub(crate) fn rtu_silence(baud: u32) -> Duration {
    if baud > 19_200 || baud == 0 {
        Duration::from_micros(1750)
    } else {
        Duration::from_secs_f64(3.5 * 11.0 / f64::from(baud))
    }
}

/// A protocol error in words, without the frame's data (that belongs at debug level).
fn describe_protocol(e: &ProtocolError) -> String {
    match e {
        ProtocolError::HeaderMismatch { .. } => {
            "the response's header (unit or transaction id) does not match the request".into()
        }
        ProtocolError::FunctionCodeMismatch { request, .. } => {
            format!("the response to function {request} carries another function code")
        }
    }
}

/// Checks that `response` answers `request` (counts, echoed addresses and values) and trims
/// the padding bits of a bit read.
pub(crate) fn check_response(
    request: &Request<'_>,
    response: Response,
) -> Result<Response, String> {
    let mismatch = |what: &str| {
        Err(format!(
            "malformed response to function {}: {what}",
            request.function_code()
        ))
    };
    match (request, response) {
        (Request::ReadCoils(_, n), Response::ReadCoils(mut bits)) => {
            if bits.len() < usize::from(*n) {
                return mismatch(&format!("{} bits for {n} asked", bits.len()));
            }
            bits.truncate(usize::from(*n));
            Ok(Response::ReadCoils(bits))
        }
        (Request::ReadDiscreteInputs(_, n), Response::ReadDiscreteInputs(mut bits)) => {
            if bits.len() < usize::from(*n) {
                return mismatch(&format!("{} bits for {n} asked", bits.len()));
            }
            bits.truncate(usize::from(*n));
            Ok(Response::ReadDiscreteInputs(bits))
        }
        (Request::ReadHoldingRegisters(_, n), Response::ReadHoldingRegisters(words))
        | (Request::ReadInputRegisters(_, n), Response::ReadInputRegisters(words)) => {
            if words.len() != usize::from(*n) {
                return mismatch(&format!("{} registers for {n} asked", words.len()));
            }
            Ok(match request {
                Request::ReadHoldingRegisters(..) => Response::ReadHoldingRegisters(words),
                _ => Response::ReadInputRegisters(words),
            })
        }
        (Request::WriteSingleCoil(a, v), Response::WriteSingleCoil(ra, rv))
            if *a == ra && *v == rv =>
        {
            Ok(Response::WriteSingleCoil(ra, rv))
        }
        (Request::WriteSingleRegister(a, v), Response::WriteSingleRegister(ra, rv))
            if *a == ra && *v == rv =>
        {
            Ok(Response::WriteSingleRegister(ra, rv))
        }
        (Request::WriteMultipleRegisters(a, words), Response::WriteMultipleRegisters(ra, n))
            if *a == ra && usize::from(n) == words.len() =>
        {
            Ok(Response::WriteMultipleRegisters(ra, n))
        }
        (Request::MaskWriteRegister(a, and, or), Response::MaskWriteRegister(ra, rand, ror))
            if *a == ra && *and == rand && *or == ror =>
        {
            Ok(Response::MaskWriteRegister(ra, rand, ror))
        }
        _ => mismatch("it does not echo the request"),
    }
}
