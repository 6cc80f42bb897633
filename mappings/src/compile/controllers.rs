//! Controllers: names, transports and link settings, into [`ModbusConfig`]s.

use std::path::PathBuf;
use std::time::Duration;

use railgate_adapters::modbus::{Backoff, ModbusConfig, Parity, Transport};
use railgate_adapters::serial::LineSettings;

use crate::model::ControllerSpec;

use super::report::Here;
use super::{Compiler, Ctrl};

/// Shortest poll interval accepted (a tighter loop only loads the bus).
const MIN_POLL: Duration = Duration::from_millis(10);

impl Compiler {
    /// Whether `name` (at `here`'s `/name`) is a usable controller name, of any kind of
    /// controller; reports it when not.
    pub(super) fn controller_name_ok(&mut self, here: &Here, name: &str) -> bool {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            self.rep.value(
                &self.docs,
                here,
                "/name",
                format!("`{name}` is not a controller name: 1 to 32 letters, digits, `_` or `-` (it becomes part of point ids)"),
            );
        }
        ok
    }

    /// Checks one controller; returns its index when it is usable. `partial`: settings with
    /// structural problems (already reported) were left out, so a missing transport is not
    /// reported again.
    pub(super) fn controller(
        &mut self,
        pointer: &str,
        spec: &ControllerSpec,
        partial: bool,
    ) -> Option<usize> {
        let here = Here {
            doc: 0,
            pointer: pointer.to_string(),
            inst: None,
        };
        let name = spec.name.as_str();
        let name_ok = self.controller_name_ok(&here, name);
        if name_ok && self.ctrls.iter().any(|c| c.name == name) {
            self.rep.value(
                &self.docs,
                &here,
                "/name",
                format!("controller name `{name}` is already used"),
            );
            // Items naming it bind to the first one; this one is not compiled.
            return None;
        }

        let transport = match (&spec.modbus_tcp, &spec.modbus_rtu) {
            (Some(_), Some(_)) => {
                self.rep.key(
                    &self.docs,
                    &here,
                    "/modbus_rtu",
                    "give one transport: both `modbus_tcp` and `modbus_rtu` are given",
                );
                None
            }
            (None, None) if partial => None,
            (None, None) => {
                self.rep.key(
                    &self.docs,
                    &here,
                    "",
                    "no transport: add `modbus_tcp: {host: ..., port: 502}` or `modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}`",
                );
                None
            }
            (Some(tcp), None) => {
                let (host, port_in_host) = match split_host_port(&tcp.host) {
                    Ok(split) => split,
                    Err(message) => {
                        self.rep
                            .value(&self.docs, &here, "/modbus_tcp/host", message);
                        (tcp.host.clone(), None)
                    }
                };
                let host_ok = !host.is_empty()
                    && host.len() <= 253
                    && !host
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == '/');
                if !host_ok {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_tcp/host",
                        format!("`{}` is not a host name or IP address", tcp.host),
                    );
                }
                let port = match (port_in_host, tcp.port) {
                    (Some(given), Some(port)) => {
                        self.rep.value(
                            &self.docs,
                            &here,
                            "/modbus_tcp/host",
                            format!("the port is given twice ({given} in `host`, {port} in `port`): write `host: {host}, port: {port}`"),
                        );
                        port
                    }
                    (Some(given), None) => given,
                    (None, port) => port.unwrap_or(502),
                };
                if port == 0 {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_tcp/port",
                        "port 0 cannot be connected to",
                    );
                }
                Some(Transport::Tcp { host, port })
            }
            (None, Some(rtu)) => {
                if rtu.device.trim().is_empty() {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_rtu/device",
                        "the serial device is empty",
                    );
                }
                if !(300..=4_000_000).contains(&rtu.baud) {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_rtu/baud",
                        format!(
                            "{} baud is not a serial speed (300 to 4000000; usually 9600 or 19200)",
                            rtu.baud
                        ),
                    );
                }
                let data_bits = rtu.data_bits.unwrap_or(8);
                if !(7..=8).contains(&data_bits) {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_rtu/data_bits",
                        "data bits are 7 or 8",
                    );
                }
                let stop_bits = rtu.stop_bits.unwrap_or(1);
                if !(1..=2).contains(&stop_bits) {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_rtu/stop_bits",
                        "stop bits are 1 or 2",
                    );
                }
                let rs485 = self.rs485_mode(&here, "/modbus_rtu/rs485", rtu.rs485.as_ref());
                rs485.map(|rs485| Transport::Rtu {
                    device: PathBuf::from(&rtu.device),
                    line: LineSettings {
                        baud: rtu.baud,
                        parity: rtu.parity.into(),
                        data_bits,
                        stop_bits,
                        rs485,
                    },
                })
            }
        };
        if matches!(transport, Some(Transport::Rtu { .. })) && !(1..=247).contains(&spec.unit) {
            self.rep.value(
                &self.docs,
                &here,
                "/unit",
                format!("unit {} cannot be polled on a serial line: RTU unit ids are 1 to 247 (0 is broadcast)", spec.unit),
            );
        }

        let mut config = ModbusConfig::new(
            name,
            transport.clone().unwrap_or(Transport::Tcp {
                host: String::new(),
                port: 502,
            }),
            spec.unit,
        );
        if let Some(d) = spec.poll_interval {
            if d.0 < MIN_POLL {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/poll_interval",
                    "poll_interval must be at least 10ms",
                );
            }
            config.poll_interval = d.0;
        }
        if let Some(d) = spec.timeout {
            if d.0.is_zero() {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/timeout",
                    "a timeout of zero would fail every request",
                );
            }
            config.timeout = d.0;
        }
        if let Some(r) = spec.retries {
            config.retries = r;
        }
        if let Some(m) = spec.max_registers_per_request {
            config.max_registers_per_request = m;
        }
        if let Some(m) = spec.max_bits_per_request {
            config.max_bits_per_request = m;
        }
        if let Some(g) = spec.max_gap {
            config.max_gap = g;
        }
        if let Some(d) = spec.inter_frame_delay {
            if d.0 > Duration::from_secs(1) {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/inter_frame_delay",
                    "an inter-frame delay over 1s is surely a mistake (a few ms is typical)",
                );
            }
            config.inter_frame_delay = d.0;
        }
        if let Some(m) = spec.mask_write {
            config.mask_write = m;
        }
        if let Some(b) = &spec.backoff {
            let initial = b.initial.map_or(Backoff::default().initial, |d| d.0);
            let max = b.max.map_or(Backoff::default().max, |d| d.0);
            if initial.is_zero() {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/backoff/initial",
                    "the first reconnect delay must be more than zero",
                );
            }
            if max < initial {
                self.rep.value(
                    &self.docs,
                    &here,
                    if b.max.is_some() {
                        "/backoff/max"
                    } else {
                        "/backoff/initial"
                    },
                    format!(
                        "backoff max ({}ms) is shorter than initial ({}ms)",
                        max.as_millis(),
                        initial.as_millis()
                    ),
                );
            }
            config.backoff = Backoff { initial, max };
        }
        if !name_ok {
            // Items naming it are not checked against it (they would only repeat the problem).
            // Other problems of the controller do not affect its items, which are still checked.
            self.broken_ctrls.insert(name.to_string());
            return None;
        }
        self.ctrls.push(Ctrl {
            here,
            name: name.to_string(),
            base: spec.address_base.0,
            config,
        });
        Some(self.ctrls.len() - 1)
    }
}

impl Compiler {
    /// Controllers on one serial device share one RS-485 line: the same line settings, and a
    /// unit id each. A finding is reported at the later controller, naming the earlier one.
    pub(super) fn shared_lines(&mut self) {
        let mut findings: Vec<(Here, &'static str, String)> = Vec::new();
        for (j, later) in self.ctrls.iter().enumerate() {
            let Transport::Rtu { device, line: mine } = &later.config.transport else {
                continue;
            };
            // The first earlier controller on the same device is the reference.
            let Some(earlier) = self.ctrls[..j].iter().find(
                |e| matches!(&e.config.transport, Transport::Rtu { device: d, .. } if d == device),
            ) else {
                continue;
            };
            let Transport::Rtu { line: theirs, .. } = &earlier.config.transport else {
                continue;
            };
            let line = self
                .docs
                .first()
                .map_or(0, |d| d.line_of(&earlier.here.pointer));
            let (a, b) = (&earlier.name, &later.name);
            let dev = device.display();
            let differing = [
                ("baud", mine.baud.to_string(), theirs.baud.to_string()),
                (
                    "parity",
                    parity_name(mine.parity),
                    parity_name(theirs.parity),
                ),
                (
                    "data_bits",
                    mine.data_bits.to_string(),
                    theirs.data_bits.to_string(),
                ),
                (
                    "stop_bits",
                    mine.stop_bits.to_string(),
                    theirs.stop_bits.to_string(),
                ),
                ("rs485", mine.rs485.to_string(), theirs.rs485.to_string()),
            ];
            for (key, mine, theirs) in differing {
                if mine != theirs {
                    findings.push((
                        later.here.clone(),
                        key,
                        format!("controllers `{a}` (line {line}) and `{b}` share {dev} but differ in {key}: {theirs} and {mine}; every device on one serial line uses the same settings"),
                    ));
                }
            }
            if let Some(same) = self.ctrls[..j].iter().find(|e| {
                e.config.unit == later.config.unit
                    && matches!(&e.config.transport, Transport::Rtu { device: d, .. } if d == device)
            }) {
                let line = self
                    .docs
                    .first()
                    .map_or(0, |d| d.line_of(&same.here.pointer));
                findings.push((
                    later.here.clone(),
                    "",
                    format!(
                        "controllers `{}` (line {line}) and `{b}` both poll unit {} on {dev}: every device on one serial line needs its own unit id",
                        same.name, later.config.unit
                    ),
                ));
            }
        }
        for (here, key, message) in findings {
            let sub = if key.is_empty() {
                "/unit".to_string()
            } else {
                format!("/modbus_rtu/{key}")
            };
            self.rep.value(&self.docs, &here, &sub, message);
        }
    }
}

fn parity_name(p: Parity) -> String {
    match p {
        Parity::None => "none",
        Parity::Even => "even",
        Parity::Odd => "odd",
    }
    .to_string()
}

/// Splits `host:port` and `[v6]:port` (the port written in `host`, as in a URL); a bare
/// host, a bracketed `[v6]` and an unbracketed IPv6 address (`::1`, several colons) have no
/// port. An unparsable port after the last colon is an error with a hint.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let port = |p: &str, host: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(0) => Err("port 0 cannot be connected to".to_string()),
            Ok(n) => Ok(n),
            Err(_) => Err(format!(
                "`{p}` after `{host}:` is not a TCP port (1 to 65535): write `host: {host}, port: 502`"
            )),
        }
    };
    if let Some(rest) = text.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return Err(format!("`{text}` has no closing `]`"));
        };
        return match after {
            "" => Ok((inside.to_string(), None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((inside.to_string(), Some(port(p, inside)?))),
                None => Err(format!(
                    "`{text}`: after `[{inside}]` only `:port` may follow"
                )),
            },
        };
    }
    match text.split_once(':') {
        Some((host, p)) if !p.contains(':') => Ok((host.to_string(), Some(port(p, host)?))),
        _ => Ok((text.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn host_and_port_in_one() {
        let ok = |t: &str| split_host_port(t).expect(t);
        assert_eq!(ok("10.0.0.5"), ("10.0.0.5".into(), None));
        assert_eq!(ok("127.0.0.1:15022"), ("127.0.0.1".into(), Some(15022)));
        assert_eq!(ok("plc.local:502"), ("plc.local".into(), Some(502)));
        assert_eq!(ok("[::1]:15022"), ("::1".into(), Some(15022)));
        assert_eq!(ok("[::1]"), ("::1".into(), None));
        assert_eq!(ok("fe80::1"), ("fe80::1".into(), None));
        assert!(
            split_host_port("10.0.0.5:http")
                .unwrap_err()
                .contains("not a TCP port")
        );
        assert!(split_host_port("10.0.0.5:70000").is_err());
        assert!(split_host_port("10.0.0.5:0").is_err());
        assert!(split_host_port("[::1").is_err());
        assert!(split_host_port("[::1]x").is_err());
    }
}
