//! The serial-port operations of the device I/O service: GetSerialPorts,
//! Get/SetSerialPortConfiguration, GetSerialPortConfigurationOptions and
//! SendReceiveSerialCommand (ONVIF DeviceIO 2.2+).
//!
//! SendReceiveSerialCommand's rules (DeviceIO spec, "SendReceiveSerialCommand"), as railgate
//! applies them:
//! - `TimeOut` > PT0S: read for at most that long (cut to [`MAX_WAIT`]), answering as soon as
//!   `DataLength` bytes or the `Delimiter` arrived; `TimeOut` = PT0S: write only, answer at
//!   once; a negative `TimeOut` (`-PT1S`) or none: wait for `DataLength` / `Delimiter`, at most
//!   [`MAX_WAIT`] (the "vendor specific" hold); without either condition, read for
//!   [`DEFAULT_WAIT`].
//! - `DataLength`: exactly that many bytes are returned; more than [`MAX_READ`] is
//!   `ter:OperationProhibited/ter:DataLengthOver`.
//! - `Delimiter`: its UTF-8 bytes, matched as one sequence, returned with the data; longer
//!   than [`MAX_DELIMITER`] bytes is `ter:OperationProhibited/ter:DelimiterNotSupported`.
//! - Whatever arrived when the wait is over is the answer; nothing at all is a response
//!   without `SerialData` (the schema makes it optional), not a fault.
//! - The answer is `String` when the request's data was a String (or absent) and the bytes are
//!   text XML can carry; otherwise `Binary` (base64).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use railgate_adapters::modbus::Parity;
use railgate_adapters::serial::{
    DATA_BITS, DEFAULT_WAIT, Exchange, LineSettings, MAX_DELIMITER, MAX_READ, MAX_WAIT, PARITIES,
    STANDARD_BAUDS, STOP_BITS, Until,
};

use crate::events::time::parse_duration;
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::southbound::IoError;
use crate::southbound::serial::SerialView;
use crate::xml::ns::TMD;
use crate::xml::{Element, XmlWriter};
use railgate_mappings::plan::SerialKind;

fn parity_name(p: Parity) -> &'static str {
    match p {
        Parity::None => "None",
        Parity::Even => "Even",
        Parity::Odd => "Odd",
    }
}

/// `ter:InvalidArgVal/ter:ConfigModify`: the configuration cannot be set.
fn config_modify(detail: impl Into<String>) -> SoapFault {
    SoapFault::invalid_arg_val(Some("ter:ConfigModify"), detail.into())
}

/// GetSerialPorts: every port the mapping lists.
pub(super) async fn get_serial_ports(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tmd:GetSerialPortsResponse", &[], |w| {
        for p in ctx.app.io.serial().list() {
            w.empty("tmd:SerialPort", &[("token", &p.token)]);
        }
    });
    Ok(w.finish())
}

fn write_configuration(w: &mut XmlWriter, p: &SerialView) {
    w.with(
        "tmd:SerialPortConfiguration",
        &[("token", &p.token), ("type", p.kind.as_str())],
        |w| {
            w.leaf("tmd:BaudRate", &p.line.baud.to_string());
            w.leaf("tmd:ParityBit", parity_name(p.line.parity));
            w.leaf("tmd:CharacterLength", &p.line.data_bits.to_string());
            w.leaf("tmd:StopBit", &p.line.stop_bits.to_string());
        },
    );
}

/// GetSerialPortConfiguration: the settings in force.
pub(super) async fn get_serial_port_configuration(ctx: &Ctx, req: &Element) -> OpResult {
    let token = required_text(req, TMD, "SerialPortToken")?;
    let port = ctx.app.io.serial().get(token)?;
    let mut w = XmlWriter::new();
    w.with("tmd:GetSerialPortConfigurationResponse", &[], |w| {
        write_configuration(w, &port)
    });
    Ok(w.finish())
}

/// The speeds a port takes: the standard ones, and its own if that is another.
fn bauds(p: &SerialView) -> Vec<u32> {
    let mut list = STANDARD_BAUDS.to_vec();
    if !list.contains(&p.line.baud) {
        list.push(p.line.baud);
        list.sort_unstable();
    }
    list
}

/// GetSerialPortConfigurationOptions: what the port really takes. A read-only port offers
/// only its settings (they are its controllers', or fixed by the mapping).
pub(super) async fn get_serial_port_configuration_options(ctx: &Ctx, req: &Element) -> OpResult {
    let token = required_text(req, TMD, "SerialPortToken")?;
    let p = ctx.app.io.serial().get(token)?;
    let (bauds, parities, data_bits, stop_bits) = if p.raw {
        (
            bauds(&p),
            PARITIES.to_vec(),
            DATA_BITS.to_vec(),
            STOP_BITS.to_vec(),
        )
    } else {
        (
            vec![p.line.baud],
            vec![p.line.parity],
            vec![p.line.data_bits],
            vec![p.line.stop_bits],
        )
    };
    let mut w = XmlWriter::new();
    w.with("tmd:GetSerialPortConfigurationOptionsResponse", &[], |w| {
        w.with("tmd:SerialPortOptions", &[("token", &p.token)], |w| {
            w.with("tmd:BaudRateList", &[], |w| {
                for b in &bauds {
                    w.leaf("tt:Items", &b.to_string());
                }
            });
            w.with("tmd:ParityBitList", &[], |w| {
                for q in &parities {
                    w.leaf("tmd:Items", parity_name(*q));
                }
            });
            w.with("tmd:CharacterLengthList", &[], |w| {
                for d in &data_bits {
                    w.leaf("tt:Items", &d.to_string());
                }
            });
            w.with("tmd:StopBitList", &[], |w| {
                for s in &stop_bits {
                    w.leaf("tt:Items", &s.to_string());
                }
            });
        });
    });
    Ok(w.finish())
}

/// Reads a tmd:SerialPortConfiguration against what port `p` takes: the line, and the type
/// (whether the port can become that type is the port's to say).
fn read_configuration(
    c: &Element,
    p: &SerialView,
) -> Result<(LineSettings, SerialKind), SoapFault> {
    let kind = match c.attr("", "type") {
        None => p.kind,
        Some(name) => SerialKind::from_name(name).ok_or_else(|| {
            SoapFault::invalid_args(format!("{name:?} is not a tmd:SerialPortType"))
        })?,
    };
    let int = |name: &'static str| -> Result<i64, SoapFault> {
        let text = required_text(c, TMD, name)?;
        text.parse::<i64>()
            .map_err(|_| SoapFault::invalid_args(format!("{name} {text:?} is not an integer")))
    };
    let baud = int("BaudRate")?;
    let baud = u32::try_from(baud)
        .ok()
        .filter(|b| bauds(p).contains(b))
        .ok_or_else(|| {
            config_modify(format!(
                "{baud} baud is not offered (GetSerialPortConfigurationOptions lists the speeds)"
            ))
        })?;
    let parity = match required_text(c, TMD, "ParityBit")? {
        "None" => Parity::None,
        "Even" => Parity::Even,
        "Odd" => Parity::Odd,
        other => return Err(config_modify(format!("parity {other} is not offered"))),
    };
    let bits = int("CharacterLength")?;
    let data_bits = u8::try_from(bits)
        .ok()
        .filter(|b| DATA_BITS.contains(b))
        .ok_or_else(|| config_modify(format!("a character length of {bits} is not offered")))?;
    let stop_text = required_text(c, TMD, "StopBit")?;
    let stop: f32 = stop_text
        .parse()
        .map_err(|_| SoapFault::invalid_args(format!("StopBit {stop_text:?} is not a number")))?;
    let stop_bits = match stop {
        1.0 => 1,
        2.0 => 2,
        _ => {
            return Err(config_modify(format!(
                "{stop_text} stop bits are not offered"
            )));
        }
    };
    let line = LineSettings {
        baud,
        parity,
        data_bits,
        stop_bits,
        rs485: p.line.rs485,
    };
    Ok((line, kind))
}

/// SetSerialPortConfiguration: applied to the open port, then stored (ForcePersistance is
/// deprecated; railgate always stores).
pub(super) async fn set_serial_port_configuration(ctx: &Ctx, req: &Element) -> OpResult {
    let c = req
        .child(TMD, "SerialPortConfiguration")
        .ok_or_else(|| SoapFault::missing_tag("SerialPortConfiguration is required"))?;
    let token = c
        .attr("", "token")
        .ok_or_else(|| SoapFault::missing_attr("SerialPortConfiguration/@token is required"))?;
    let serial = ctx.app.io.serial();
    let p = serial.get(token)?;
    if !p.raw {
        return Err(config_modify(format!(
            "serial port {token:?} is read-only: its settings are fixed by the mapping"
        )));
    }
    let (line, kind) = read_configuration(c, &p)?;
    serial
        .configure(token, line, kind)
        .await
        .map_err(|e| match e {
            IoError::SerialReadOnly { why, .. } => config_modify(why),
            IoError::SerialSettings { reason, .. } if kind != p.kind => config_modify(reason),
            e => e.into(),
        })?;
    tracing::info!(
        serial_port = token,
        baud = line.baud,
        parity = parity_name(line.parity),
        data_bits = line.data_bits,
        stop_bits = line.stop_bits,
        r#type = kind.as_str(),
        by = ctx.principal.log_name(),
        "serial port configured"
    );
    Ok("<tmd:SetSerialPortConfigurationResponse/>".into())
}

/// How long to read, by the TimeOut rules of the module doc.
fn wait_for(timeout: Option<&str>, until: &Until) -> Result<Duration, SoapFault> {
    let hold = || {
        if until.is_set() {
            MAX_WAIT
        } else {
            DEFAULT_WAIT
        }
    };
    let Some(text) = timeout else {
        return Ok(hold());
    };
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let d = parse_duration(body).ok_or_else(|| {
        SoapFault::invalid_args(format!("TimeOut {text:?} is not an xs:duration"))
    })?;
    Ok(if negative && !d.is_zero() {
        hold()
    } else {
        d.min(MAX_WAIT)
    })
}

/// Whether XML can carry `s` as text (no C0 controls but tab, LF and CR; no U+FFFE/U+FFFF).
fn xml_text(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    })
}

/// SendReceiveSerialCommand: one exchange on a raw port.
pub(super) async fn send_receive_serial_command(ctx: &Ctx, req: &Element) -> OpResult {
    let serial = ctx.app.io.serial();
    let token = match req.child(TMD, "Token").map(Element::text_trim) {
        Some(t) => t.to_string(),
        // Token is optional in the schema: with one port, it is that one.
        None => match serial.list().as_slice() {
            [only] => only.token.clone(),
            _ => {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:InvalidSerialPort"),
                    "Token is required: the device has more than one serial port, or none",
                ));
            }
        },
    };
    // Unknown and read-only ports are refused before the request is read further.
    serial.writable(&token)?;
    let mut as_string = true;
    let data = match req.child(TMD, "SerialData") {
        None => Vec::new(),
        Some(d) => {
            if let Some(b) = d.child(TMD, "Binary") {
                as_string = false;
                let compact: String = b.text.chars().filter(|c| !c.is_whitespace()).collect();
                BASE64.decode(compact.as_bytes()).map_err(|_| {
                    SoapFault::invalid_args("SerialData/Binary is not base64".to_string())
                })?
            } else if let Some(s) = d.child(TMD, "String") {
                s.text.as_bytes().to_vec()
            } else {
                return Err(SoapFault::missing_tag(
                    "SerialData needs Binary or String".to_string(),
                ));
            }
        }
    };
    let length = match req.child(TMD, "DataLength").map(Element::text_trim) {
        None => None,
        Some(text) => {
            let n: i128 = text.parse().map_err(|_| {
                SoapFault::invalid_args(format!("DataLength {text:?} is not an integer"))
            })?;
            if n < 0 {
                return Err(SoapFault::invalid_arg_val(
                    None,
                    format!("DataLength {n} is negative"),
                ));
            }
            if n > MAX_READ as i128 {
                return Err(SoapFault::operation_prohibited(
                    Some("ter:DataLengthOver"),
                    format!("at most {MAX_READ} bytes are read"),
                ));
            }
            Some(n as usize)
        }
    };
    let delimiter = match req.child(TMD, "Delimiter") {
        Some(d) if !d.text.is_empty() => {
            if d.text.len() > MAX_DELIMITER {
                return Err(SoapFault::operation_prohibited(
                    Some("ter:DelimiterNotSupported"),
                    format!("a delimiter has at most {MAX_DELIMITER} bytes"),
                ));
            }
            Some(d.text.as_bytes().to_vec())
        }
        _ => None,
    };
    let until = Until { length, delimiter };
    let wait = wait_for(req.child(TMD, "TimeOut").map(Element::text_trim), &until)?;
    let sent = data.len();
    let answer = serial
        .exchange(&token, Exchange { data, until, wait })
        .await?;
    tracing::info!(
        serial_port = %token,
        sent,
        received = answer.len(),
        wait_ms = wait.as_millis() as u64,
        by = ctx.principal.log_name(),
        "serial command sent"
    );
    let mut w = XmlWriter::new();
    w.with("tmd:SendReceiveSerialCommandResponse", &[], |w| {
        if answer.is_empty() {
            return;
        }
        w.with("tmd:SerialData", &[], |w| {
            match std::str::from_utf8(&answer) {
                Ok(text) if as_string && xml_text(text) => w.leaf("tmd:String", text),
                _ => w.leaf("tmd:Binary", &BASE64.encode(&answer)),
            };
        });
    });
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_the_standard_cases() {
        let none = Until::default();
        let delimited = Until {
            length: None,
            delimiter: Some(b"\n".to_vec()),
        };
        let ms = Duration::from_millis;
        assert_eq!(wait_for(Some("PT0.3S"), &none).unwrap(), ms(300));
        assert_eq!(wait_for(Some("PT0S"), &delimited).unwrap(), Duration::ZERO);
        assert_eq!(wait_for(Some("-PT1S"), &delimited).unwrap(), MAX_WAIT);
        assert_eq!(wait_for(None, &delimited).unwrap(), MAX_WAIT);
        assert_eq!(wait_for(None, &none).unwrap(), DEFAULT_WAIT);
        assert_eq!(wait_for(Some("PT1H"), &none).unwrap(), MAX_WAIT);
        assert!(wait_for(Some("soon"), &none).is_err());
    }

    #[test]
    fn only_text_xml_can_carry_is_answered_as_a_string() {
        assert!(xml_text("OK\r\n\tdone"));
        assert!(!xml_text("\u{1}ack"));
        assert!(!xml_text("\u{FFFE}"));
    }
}
