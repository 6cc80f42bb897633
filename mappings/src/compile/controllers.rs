//! Controllers: names, transports and link settings, into [`ModbusConfig`]s.

use std::path::PathBuf;
use std::time::Duration;

use railgate_adapters::modbus::{Backoff, ModbusConfig, Parity, Transport};

use crate::model::{ControllerSpec, ParitySpec};

use super::report::Here;
use super::{Compiler, Ctrl};

/// Shortest poll interval accepted (a tighter loop only loads the bus).
const MIN_POLL: Duration = Duration::from_millis(10);

impl Compiler {
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
        let name_ok = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            self.rep.value(
                &self.docs,
                &here,
                "/name",
                format!("`{name}` is not a controller name: 1 to 32 letters, digits, `_` or `-` (it becomes part of point ids)"),
            );
        } else if self.ctrls.iter().any(|c| c.name == name) {
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
                let host_ok = !tcp.host.is_empty()
                    && tcp.host.len() <= 253
                    && !tcp
                        .host
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
                let port = tcp.port.unwrap_or(502);
                if port == 0 {
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/modbus_tcp/port",
                        "port 0 cannot be connected to",
                    );
                }
                Some(Transport::Tcp {
                    host: tcp.host.clone(),
                    port,
                })
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
                Some(Transport::Rtu {
                    device: PathBuf::from(&rtu.device),
                    baud: rtu.baud,
                    parity: match rtu.parity {
                        ParitySpec::None => Parity::None,
                        ParitySpec::Even => Parity::Even,
                        ParitySpec::Odd => Parity::Odd,
                    },
                    data_bits,
                    stop_bits,
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
            name: name.to_string(),
            base: spec.address_base.0,
            config,
        });
        Some(self.ctrls.len() - 1)
    }
}
