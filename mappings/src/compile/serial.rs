//! Serial ports (`serial_ports:`): tokens, devices, line settings, and who owns each port.
//!
//! The ownership rule: a port a Modbus RTU controller uses belongs to that controller's bus
//! (one task per device, `BusTask`); raw bytes sent in the middle of its frames would corrupt
//! them. So such a port may be listed only with `expose: false` (GetSerialPorts shows it and
//! its settings, which are the controllers'; raw commands and setting changes are refused).
//! A port with `expose: true` (the default) is owned by the gateway's raw port task and must
//! not be any controller's.

use std::collections::HashMap;
use std::path::PathBuf;

use std::time::Duration;

use railgate_adapters::modbus::{Parity, Transport};
use railgate_adapters::serial::{LineSettings, Rs485, Rs485Mode};

use crate::model::{DurationText, Rs485Spec, RtsLevelSpec, SerialPortSpec, SerialTypeSpec};
use crate::plan::{SerialAccess, SerialKind, SerialPortPoint};

use super::report::Here;
use super::{Compiler, checked_name};

impl Compiler {
    /// The kernel RS-485 mode `spec` asks for at `pointer` (`…/rs485`), checked; `Keep` when
    /// it is not given, `None` when it is wrong (reported with its line and column).
    pub(super) fn rs485_mode(
        &mut self,
        here: &Here,
        pointer: &str,
        spec: Option<&Rs485Spec>,
    ) -> Option<Rs485Mode> {
        let Some(spec) = spec else {
            return Some(Rs485Mode::Keep);
        };
        let mut ok = true;
        let mut delay = |this: &mut Compiler, key: &str, d: Option<DurationText>| {
            let d = d.map_or(Duration::ZERO, |d| d.0);
            let probe = Rs485 {
                delay_before_send: d,
                ..Rs485::default()
            };
            if let Err(e) = probe.check() {
                let e = e.replace("delay_before_send", key);
                this.rep
                    .value(&this.docs, here, &format!("{pointer}/{key}"), e);
                ok = false;
            }
            d
        };
        let delay_before_send = delay(self, "delay_before_send", spec.delay_before_send);
        let delay_after_send = delay(self, "delay_after_send", spec.delay_after_send);
        ok.then_some(Rs485Mode::On(Rs485 {
            rts_active_low: matches!(spec.rts_on_send, Some(RtsLevelSpec::Low)),
            delay_before_send,
            delay_after_send,
            full_duplex: spec.full_duplex.unwrap_or(false),
            terminate_bus: spec.terminate_bus.unwrap_or(false),
        }))
    }
}

impl Compiler {
    /// Checks every serial port and adds the valid ones to the plan.
    pub(super) fn serial_ports(&mut self, items: &[(String, SerialPortSpec)]) {
        let mut tokens: HashMap<String, Here> = HashMap::new();
        let mut devices: HashMap<String, (String, Here)> = HashMap::new();
        for (pointer, spec) in items {
            let here = Here {
                doc: 0,
                pointer: pointer.clone(),
                inst: None,
            };
            let mut ok = true;
            let token = match checked_name(&spec.token, "", 64) {
                Ok(t) => Some(t),
                Err((_, message)) => {
                    self.rep.value(&self.docs, &here, "/token", message);
                    ok = false;
                    None
                }
            };
            if let Some(t) = &token {
                if let Some(earlier) = tokens.get(t) {
                    let line = self.line_of(earlier);
                    self.rep.value(
                        &self.docs,
                        &here,
                        "/token",
                        format!("serial port token `{t}` is already used (line {line})"),
                    );
                    ok = false;
                } else {
                    tokens.insert(t.clone(), here.clone());
                }
            }
            let device = spec.device.trim();
            if device.is_empty() {
                self.rep
                    .value(&self.docs, &here, "/device", "the serial device is empty");
                ok = false;
            } else if let Some((other, earlier)) = devices.get(device) {
                let line = self.line_of(earlier);
                self.rep.value(
                    &self.docs,
                    &here,
                    "/device",
                    format!("{device} is already serial port `{other}` (line {line}): a device is listed once"),
                );
                ok = false;
            } else {
                devices.insert(device.to_string(), (spec.token.clone(), here.clone()));
            }

            let expose = spec.expose.unwrap_or(true);
            // The RTU controllers on this device, and the line settings they use.
            let owners: Vec<(String, LineSettings, Here)> = self
                .ctrls
                .iter()
                .filter_map(|c| match &c.config.transport {
                    Transport::Rtu { device: d, line } if d == &PathBuf::from(device) => {
                        Some((c.name.clone(), *line, c.here.clone()))
                    }
                    _ => None,
                })
                .collect();
            if expose && let Some((name, _, at)) = owners.first() {
                let line = self.line_of(at);
                self.rep.value(
                    &self.docs,
                    &here,
                    "/device",
                    format!("{device} is the serial line of Modbus controller `{name}` (line {line}): raw commands would corrupt its frames; list it read-only with `expose: false`, or give the pass-through device a port of its own"),
                );
                ok = false;
            }

            let given_parity = spec.parity.map(Parity::from);
            let line = match owners.first() {
                Some((name, theirs, _)) if !expose => {
                    // The controllers' line: what is given must agree with it.
                    let differs = [
                        ("baud", spec.baud.is_some_and(|b| b != theirs.baud)),
                        ("parity", given_parity.is_some_and(|p| p != theirs.parity)),
                        (
                            "data_bits",
                            spec.data_bits.is_some_and(|d| d != theirs.data_bits),
                        ),
                        (
                            "stop_bits",
                            spec.stop_bits.is_some_and(|s| s != theirs.stop_bits),
                        ),
                    ];
                    for (key, differs) in differs {
                        if differs {
                            self.rep.value(
                                &self.docs,
                                &here,
                                &format!("/{key}"),
                                format!("{device} is the serial line of Modbus controller `{name}`, whose {key} differs; leave it out (the controller's is used) or make them the same"),
                            );
                            ok = false;
                        }
                    }
                    *theirs
                }
                _ => {
                    let baud = match spec.baud {
                        Some(b) if !(300..=4_000_000).contains(&b) => {
                            self.rep.value(
                                &self.docs,
                                &here,
                                "/baud",
                                format!("{b} baud is not a serial speed (300 to 4000000; usually 9600 or 19200)"),
                            );
                            ok = false;
                            b
                        }
                        Some(b) => b,
                        None => {
                            self.rep.key(
                                &self.docs,
                                &here,
                                "",
                                "a serial port needs `baud` (e.g. `baud: 9600`)",
                            );
                            ok = false;
                            0
                        }
                    };
                    let data_bits = spec.data_bits.unwrap_or(8);
                    if !(5..=8).contains(&data_bits) {
                        self.rep
                            .value(&self.docs, &here, "/data_bits", "data bits are 5 to 8");
                        ok = false;
                    }
                    let stop_bits = spec.stop_bits.unwrap_or(1);
                    if !(1..=2).contains(&stop_bits) {
                        self.rep
                            .value(&self.docs, &here, "/stop_bits", "stop bits are 1 or 2");
                        ok = false;
                    }
                    LineSettings {
                        baud,
                        parity: given_parity.unwrap_or(Parity::None),
                        data_bits,
                        stop_bits,
                        rs485: Rs485Mode::Keep,
                    }
                }
            };
            let (Some(token), true) = (token, ok) else {
                continue;
            };
            let kind = match spec.kind.unwrap_or(SerialTypeSpec::Rs232) {
                SerialTypeSpec::Rs232 => SerialKind::Rs232,
                SerialTypeSpec::Rs422HalfDuplex => SerialKind::Rs422HalfDuplex,
                SerialTypeSpec::Rs422FullDuplex => SerialKind::Rs422FullDuplex,
                SerialTypeSpec::Rs485HalfDuplex => SerialKind::Rs485HalfDuplex,
                SerialTypeSpec::Rs485FullDuplex => SerialKind::Rs485FullDuplex,
                SerialTypeSpec::Generic => SerialKind::Generic,
            };
            let rs485 = match (&spec.rs485, expose) {
                (None, _) => None,
                (Some(_), false) => {
                    self.rep.key(&self.docs, &here, "/rs485", "a read-only port keeps its controllers' line: give `rs485` on their `modbus_rtu` instead");
                    continue;
                }
                (Some(r), true) => {
                    if r.full_duplex.is_some() {
                        self.rep.key(&self.docs, &here, "/rs485/full_duplex", "on a serial port, `type` says whether the bus is half or full duplex (`rs485_half_duplex` or `rs485_full_duplex`): leave `full_duplex` out");
                        continue;
                    }
                    match self.rs485_mode(&here, "/rs485", Some(r)) {
                        Some(Rs485Mode::On(r)) => Some(r),
                        _ => continue,
                    }
                }
            };
            let mut point = SerialPortPoint {
                token,
                device: PathBuf::from(device),
                line,
                kind,
                rs485,
                access: SerialAccess::Raw,
            };
            match point.rs485_mode(kind) {
                Some(mode) => point.line.rs485 = mode,
                None => {
                    self.rep.value(&self.docs, &here, "/type", format!("a port with a kernel `rs485` mode is `rs232`, `rs485_half_duplex` or `rs485_full_duplex`, not {}", kind.as_str()));
                    continue;
                }
            }
            point.access = if expose {
                SerialAccess::Raw
            } else {
                SerialAccess::ReadOnly {
                    controllers: owners.into_iter().map(|(n, _, _)| n).collect(),
                }
            };
            self.plan.serial_ports.push(point);
        }
    }

    fn line_of(&self, here: &Here) -> usize {
        self.docs
            .get(here.doc)
            .map_or(0, |d| d.line_of(&here.pointer))
    }
}
