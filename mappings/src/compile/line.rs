//! Line controllers (`line_controllers:`): the protocol into a [`LineProtocol`], the items
//! bound to it into the plan's inputs, relays and auxiliary commands, and the controller into
//! a [`Link::Line`].
//!
//! Point ids: inputs name the id a rule's `input` produces (`dsc/zone/001` from
//! `dsc/zone/{zone}`), and an id no rule template can produce is an error; relays and
//! commands get ids of their own (`line/<controller>/relay/<token>`,
//! `line/<controller>/command/<n>`) that only the adapter's write table knows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use regex::bytes::Regex;

use railgate_adapters::PointId;
use railgate_adapters::Value;
use railgate_adapters::line::{
    AckSpec, Action, BinaryField, BinaryType, ByteMatch, Checksum, ChecksumAlgorithm,
    ChecksumEncoding, CommandTemplate, Endianness, Framing, LengthField, LineEndpoint, LineLink,
    LineProtocol, LineWrite, Matcher, Params, Part, Rule, Supervision, TextTemplate,
    text_template::TextPart,
};
use railgate_adapters::modbus::{Backoff, Parity};
use railgate_adapters::serial::LineSettings;

use crate::line_model::{LineControllerSpec, LineProtocolRef, LineProtocolSpec, LineSendSpec};
use crate::model::RelayModeSpec;
use crate::plan::{AuxCommand, Controller, InputPoint, Link, RelayMode, RelayPoint, WriteValue};
use crate::plan::{
    ByteOrder, Decode, EventSpec, FixedItem, ItemType, RecordEvent, RecordItem, RecordPoint,
    ValuePoint, WireType,
};

use super::events::item_type;
use super::items::idle;
use super::report::Here;
use super::{Compiler, TokenKind};

const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(2);

impl Compiler {
    /// Every line controller of the site file, with its items.
    pub(super) fn line_controllers(
        &mut self,
        specs: &[(String, LineControllerSpec)],
        namespaces: &HashMap<String, String>,
    ) {
        let mut names: Vec<String> = self.ctrls.iter().map(|c| c.name.clone()).collect();
        for (pointer, spec) in specs {
            let here = Here {
                doc: 0,
                pointer: pointer.clone(),
                inst: None,
            };
            if names.contains(&spec.name) || self.broken_ctrls.contains(&spec.name) {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/name",
                    format!("controller name `{}` is already used", spec.name),
                );
                continue;
            }
            names.push(spec.name.clone());
            if let Some(link) = self.line_controller(&here, spec, namespaces) {
                self.plan.controllers.push(Controller {
                    name: spec.name.clone(),
                    link: Link::Line(Box::new(link)),
                });
            }
        }
    }

    fn line_controller(
        &mut self,
        here: &Here,
        spec: &LineControllerSpec,
        namespaces: &HashMap<String, String>,
    ) -> Option<LineLink> {
        let name = spec.name.as_str();
        self.controller_name_ok(here, name);
        let endpoint = match (&spec.serial, &spec.tcp) {
            (Some(_), Some(_)) => {
                self.rep.key(
                    &self.docs,
                    here,
                    "/tcp",
                    "give one transport: both `serial` and `tcp` are given",
                );
                None
            }
            (None, None) => {
                self.rep.key(&self.docs, here, "", "no transport: add `serial: {device: /dev/ttyUSB0, baud: 9600}` or `tcp: {host: ..., port: ...}`");
                None
            }
            (Some(s), None) => {
                let line = LineSettings {
                    baud: s.baud,
                    parity: s.parity.map_or(Parity::None, Parity::from),
                    data_bits: s.data_bits.unwrap_or(8),
                    stop_bits: s.stop_bits.unwrap_or(1),
                    rs485: self
                        .rs485_mode(here, "/serial/rs485", s.rs485.as_ref())
                        .unwrap_or_default(),
                };
                if let Err(e) = line.check() {
                    self.rep.value(&self.docs, here, "/serial", e);
                }
                if s.device.is_empty() {
                    self.rep
                        .value(&self.docs, here, "/serial/device", "the device is empty");
                }
                if let Some(port) = self
                    .plan
                    .serial_ports
                    .iter()
                    .find(|p| p.device == std::path::Path::new(&s.device))
                {
                    self.rep.value(&self.docs, here, "/serial/device", format!("`{}` is also the serial port `{}` of `serial_ports`: one device has one owner (remove it there)", s.device, port.token));
                }
                Some(LineEndpoint::Serial {
                    device: s.device.clone().into(),
                    line,
                })
            }
            (None, Some(t)) => {
                if t.host.is_empty() || t.host.chars().any(|c| c.is_whitespace() || c == '/') {
                    self.rep.value(
                        &self.docs,
                        here,
                        "/tcp/host",
                        format!("`{}` is not a host name or IP address", t.host),
                    );
                }
                if t.port == 0 {
                    self.rep.value(
                        &self.docs,
                        here,
                        "/tcp/port",
                        "port 0 cannot be connected to",
                    );
                }
                Some(LineEndpoint::Tcp {
                    host: t.host.clone(),
                    port: t.port,
                })
            }
        };
        let (protocol, protocol_on_connect) =
            match self.line_protocol_ref(here, name, &spec.protocol) {
                Some((p, greet)) => (Some(p), greet),
                None => (None, Vec::new()),
            };

        let mut writes = Vec::new();
        let input_templates: Vec<TextTemplate> = protocol
            .as_ref()
            .map(|p| {
                p.rules
                    .iter()
                    .flat_map(|r| &r.actions)
                    .filter_map(|a| match a {
                        Action::InputState { point, .. } => Some(point.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (i, input) in spec.inputs.iter().flatten().enumerate() {
            let item = format!("/inputs/{i}");
            let at = |s: &str| format!("{item}{s}");
            if !token_ok(&input.token) {
                self.rep.value(
                    &self.docs,
                    here,
                    &at("/token"),
                    format!(
                        "`{}` is not a token: 1 to 64 characters, no spaces",
                        input.token
                    ),
                );
                continue;
            }
            if protocol.is_some() && !input_templates.iter().any(|t| can_produce(t, &input.point)) {
                self.rep.value(&self.docs, here, &at("/point"), format!("no rule of the protocol produces the input `{}` (its `input` points are {})", input.point, list(&input_templates)));
            }
            let item_here = Here {
                doc: 0,
                pointer: here.sub(&item),
                inst: None,
            };
            if !self.claim_token(
                TokenKind::Input,
                &input.token,
                &item_here,
                "/token",
                &input.token,
            ) {
                continue;
            }
            self.plan.inputs.push(InputPoint {
                token: input.token.clone(),
                controller: name.to_string(),
                point: PointId(input.point.clone()),
                invert: input.invert.unwrap_or(false),
                debounce: Duration::ZERO,
                idle_state: idle(input.idle_state),
            });
        }

        for (i, relay) in spec.relays.iter().flatten().enumerate() {
            let item = format!("/relays/{i}");
            if !token_ok(&relay.token) {
                self.rep.value(
                    &self.docs,
                    here,
                    &format!("{item}/token"),
                    format!(
                        "`{}` is not a token: 1 to 64 characters, no spaces",
                        relay.token
                    ),
                );
                continue;
            }
            let point = PointId(format!("line/{name}/relay/{}", relay.token));
            let mode = match relay.mode {
                Some(RelayModeSpec::Monostable) => RelayMode::Monostable,
                _ => RelayMode::Bistable,
            };
            let delay = relay.delay.map(|d| d.0);
            let delay = match (mode, delay) {
                (RelayMode::Monostable, None) => {
                    self.rep.key(
                        &self.docs,
                        here,
                        &item,
                        "a monostable relay needs `delay`, e.g. `delay: 1s`",
                    );
                    Duration::ZERO
                }
                (RelayMode::Bistable, Some(_)) => {
                    self.rep.value(
                        &self.docs,
                        here,
                        &format!("{item}/delay"),
                        "`delay` is for monostable relays only",
                    );
                    Duration::ZERO
                }
                (_, d) => d.unwrap_or(Duration::ZERO),
            };
            if mode == RelayMode::Bistable && relay.off.is_none() {
                self.rep.key(&self.docs, here, &item, "a bistable relay needs `off:` (what makes it idle); only a monostable (momentary) output may leave it out");
            }
            let on = self.line_send(here, &format!("{item}/on"), protocol.as_ref(), &relay.on);
            writes.push(LineWrite {
                point: point.clone(),
                value: Value::Bool(true),
                command: relay.on.send.clone(),
                params: on,
            });
            let (command, params) = match &relay.off {
                Some(off) => (
                    off.send.clone(),
                    self.line_send(here, &format!("{item}/off"), protocol.as_ref(), off),
                ),
                // Nothing to send: the panel's output times itself.
                None => (String::new(), Params::new()),
            };
            writes.push(LineWrite {
                point: point.clone(),
                value: Value::Bool(false),
                command,
                params,
            });
            let item_here = Here {
                doc: 0,
                pointer: here.sub(&item),
                inst: None,
            };
            if !self.claim_token(
                TokenKind::Relay,
                &relay.token,
                &item_here,
                "/token",
                &relay.token,
            ) {
                continue;
            }
            self.plan.relays.push(RelayPoint {
                token: relay.token.clone(),
                controller: name.to_string(),
                write: point.clone(),
                read: point,
                invert: false,
                mode,
                delay,
                idle_state: idle(relay.idle_state),
            });
        }

        for (i, command) in spec.commands.iter().flatten().enumerate() {
            let item = format!("/commands/{i}");
            let point = PointId(format!("line/{name}/command/{i}"));
            let params = self.line_send(here, &item, protocol.as_ref(), &command.send);
            writes.push(LineWrite {
                point: point.clone(),
                value: Value::Bool(true),
                command: command.send.send.clone(),
                params,
            });
            let item_here = Here {
                doc: 0,
                pointer: here.sub(&item),
                inst: None,
            };
            if let Some(first) = self.command_names.get(&command.command).cloned() {
                self.clash(
                    &first,
                    &item_here,
                    "/command",
                    "auxiliary command",
                    &command.command,
                    &command.command,
                );
                continue;
            }
            self.command_names
                .insert(command.command.clone(), item_here);
            self.plan.commands.push(AuxCommand {
                command: command.command.clone(),
                controller: name.to_string(),
                point,
                value: WriteValue::Bool(true),
            });
        }

        if let Some(protocol) = &protocol {
            self.line_events(here, name, protocol, spec, namespaces);
            self.line_values(here, name, protocol, spec, namespaces);
        }

        let on_connect = protocol_on_connect.clone();
        let backoff = spec
            .backoff
            .as_ref()
            .map_or_else(Backoff::default, |b| Backoff {
                initial: b.initial.map_or(Backoff::default().initial, |d| d.0),
                max: b.max.map_or(Backoff::default().max, |d| d.0),
            });
        Some(LineLink {
            name: name.to_string(),
            endpoint: endpoint?,
            protocol: protocol?,
            writes,
            inter_frame: spec.inter_frame.map_or(Duration::from_millis(50), |d| d.0),
            backoff,
            on_connect,
        })
    }

    /// The parameters of a send, checked against its command template; secrets resolved.
    fn line_send(
        &mut self,
        here: &Here,
        at: &str,
        protocol: Option<&LineProtocol>,
        send: &LineSendSpec,
    ) -> Params {
        let mut params = Params::new();
        for (key, raw) in send.params.iter().flatten() {
            match secret(raw) {
                Ok(Some(value)) => {
                    params.insert(key.clone(), value);
                }
                Ok(None) => {
                    params.insert(key.clone(), raw.clone());
                }
                Err(why) => self.rep.warn(
                    &self.docs,
                    here,
                    &format!("{at}/params/{key}"),
                    format!("{why}: the command is refused until it is set"),
                ),
            }
        }
        let Some(protocol) = protocol else {
            return params;
        };
        let Some(template) = protocol.command(&send.send) else {
            let names: Vec<&str> = protocol.commands.iter().map(|c| c.name.as_str()).collect();
            self.rep.value(
                &self.docs,
                here,
                &format!("{at}/send"),
                format!(
                    "the protocol has no command `{}` (it has {})",
                    send.send,
                    names.join(", ")
                ),
            );
            return params;
        };
        let wanted: Vec<String> = template_params(template);
        for key in send.params.iter().flatten().map(|(k, _)| k) {
            if !wanted.contains(key) {
                self.rep.key(
                    &self.docs,
                    here,
                    &format!("{at}/params/{key}"),
                    format!(
                        "command `{}` has no parameter `{key}` (it takes {})",
                        send.send,
                        if wanted.is_empty() {
                            "none".to_string()
                        } else {
                            wanted.join(", ")
                        }
                    ),
                );
            }
        }
        for key in &wanted {
            if !send.params.as_ref().is_some_and(|p| p.contains_key(key)) {
                self.rep.key(
                    &self.docs,
                    here,
                    at,
                    format!("command `{}` needs the parameter `{key}`", send.send),
                );
            }
        }
        params
    }

    fn line_protocol(
        &mut self,
        here: &Here,
        controller: &str,
        spec: &LineProtocolSpec,
    ) -> Option<LineProtocol> {
        let mut ok = true;
        let max_frame = spec.max_frame.unwrap_or(256);
        let f = &spec.framing;
        let framing = match (&f.delimiter, &f.start, &f.end, &f.length) {
            (Some(d), None, None, None) => Framing::Delimiter {
                delimiter: d.as_bytes().to_vec(),
            },
            (None, Some(start), Some(end), None) => Framing::StartEnd {
                start: start.clone(),
                end: end.clone(),
                escape: None,
            },
            (None, Some(start), end, Some(len)) => {
                let endianness = match len.byte_order.as_deref() {
                    None | Some("big") => Endianness::Big,
                    Some("little") => Endianness::Little,
                    Some(other) => {
                        self.rep.value(
                            &self.docs,
                            here,
                            "/framing/length/byte_order",
                            format!("`{other}` is not `big` or `little`"),
                        );
                        Endianness::Big
                    }
                };
                Framing::LengthPrefixed {
                    start: start.clone(),
                    length: LengthField {
                        offset: len.offset,
                        width: len.width,
                        endianness,
                        adjust: len.adjust.unwrap_or(0),
                    },
                    end: end.clone().unwrap_or_default(),
                }
            }
            _ => {
                self.rep.key(&self.docs, here, "/framing", "give `delimiter`, or `start` and `end`, or `start` and `length` (and optionally `end`)");
                return None;
            }
        };
        if let Err(e) = framing.check(max_frame) {
            self.rep.value(&self.docs, here, "/framing", e.to_string());
            ok = false;
        }
        let checksum = match &spec.checksum {
            None => None,
            Some(c) => {
                let algorithm = ChecksumAlgorithm::ALL
                    .iter()
                    .copied()
                    .find(|a| a.name() == c.algorithm);
                let encoding = match c.encoding.as_deref() {
                    Some("hex") => Some(ChecksumEncoding::HexUpper),
                    None | Some("big") => Some(ChecksumEncoding::Binary(Endianness::Big)),
                    Some("little") => Some(ChecksumEncoding::Binary(Endianness::Little)),
                    Some(other) => {
                        self.rep.value(
                            &self.docs,
                            here,
                            "/checksum/encoding",
                            format!("`{other}` is not `hex`, `big` or `little`"),
                        );
                        None
                    }
                };
                match (algorithm, encoding) {
                    (Some(a), Some(e)) => {
                        let mut sum = Checksum::trailing(a, e);
                        sum.start = c.start.unwrap_or(0);
                        if sum.start + sum.field_width() >= max_frame {
                            self.rep.value(&self.docs, here, "/checksum/start", format!("the checksum span starts at byte {} and its field takes {}: no frame of at most {max_frame} bytes (`max_frame`) has room for it", sum.start, sum.field_width()));
                            ok = false;
                        }
                        if let Err(e) = sum.check() {
                            self.rep.value(&self.docs, here, "/checksum", e.to_string());
                            ok = false;
                        }
                        Some(sum)
                    }
                    (None, _) => {
                        let names: Vec<&str> =
                            ChecksumAlgorithm::ALL.iter().map(|a| a.name()).collect();
                        self.rep.value(
                            &self.docs,
                            here,
                            "/checksum/algorithm",
                            format!(
                                "unknown checksum `{}`: one of {}",
                                c.algorithm,
                                names.join(", ")
                            ),
                        );
                        return None;
                    }
                    _ => return None,
                }
            }
        };
        let mut rules = Vec::new();
        for (i, r) in spec.rules.iter().enumerate() {
            let at = format!("/rules/{i}");
            let (matcher, groups) = match (&r.regex, &r.bytes) {
                (Some(text), None) => match Regex::new(text) {
                    Ok(re) => {
                        let groups: Vec<String> =
                            re.capture_names().flatten().map(str::to_string).collect();
                        (Matcher::Text(re), groups)
                    }
                    Err(e) => {
                        self.rep.value(
                            &self.docs,
                            here,
                            &format!("{at}/regex"),
                            format!(
                                "bad regular expression: {}",
                                e.to_string().lines().last().unwrap_or("")
                            ),
                        );
                        ok = false;
                        continue;
                    }
                },
                (None, Some(bytes)) => {
                    let mut fields = Vec::new();
                    for (j, f) in r.fields.iter().flatten().enumerate() {
                        let kind = match f.kind.as_deref().unwrap_or("u8") {
                            "u8" => BinaryType::U8,
                            "i8" => BinaryType::I8,
                            "u16" => BinaryType::U16,
                            "i16" => BinaryType::I16,
                            "u32" => BinaryType::U32,
                            "i32" => BinaryType::I32,
                            other => {
                                self.rep.value(
                                    &self.docs,
                                    here,
                                    &format!("{at}/fields/{j}/type"),
                                    format!("`{other}` is not u8, i8, u16, i16, u32 or i32"),
                                );
                                ok = false;
                                continue;
                            }
                        };
                        let endianness = endianness(
                            self,
                            here,
                            &format!("{at}/fields/{j}/byte_order"),
                            f.byte_order.as_deref(),
                        );
                        fields.push(BinaryField {
                            name: f.name.clone(),
                            offset: f.offset,
                            kind,
                            endianness,
                        });
                    }
                    let groups = fields.iter().map(|f| f.name.clone()).collect();
                    let bytes = bytes
                        .iter()
                        .map(|b| ByteMatch {
                            offset: b.offset,
                            value: b.value,
                            mask: b.mask.unwrap_or(0xFF),
                        })
                        .collect();
                    (
                        Matcher::Binary {
                            bytes,
                            length: r.length,
                            fields,
                        },
                        groups,
                    )
                }
                _ => {
                    self.rep.key(
                        &self.docs,
                        here,
                        &at,
                        "give `regex` (text) or `bytes` (binary), not both",
                    );
                    ok = false;
                    continue;
                }
            };
            let mut actions = Vec::new();
            let template = |this: &mut Compiler, sub: &str, text: &str| -> Option<TextTemplate> {
                match TextTemplate::parse(text) {
                    Ok(t) => {
                        for name in t.names() {
                            if !groups.iter().any(|g| g == name) {
                                this.rep.value(&this.docs, here, &format!("{at}{sub}"), format!("`{{{name}}}` is no named group of the rule's regex (it has {})", if groups.is_empty() { "none".into() } else { groups.join(", ") }));
                                return None;
                            }
                        }
                        Some(t)
                    }
                    Err(e) => {
                        this.rep
                            .value(&this.docs, here, &format!("{at}{sub}"), e.to_string());
                        None
                    }
                }
            };
            let field = |this: &mut Compiler, sub: &str, name: &str| -> bool {
                let known = groups.iter().any(|g| g == name);
                if !known {
                    this.rep.value(
                        &this.docs,
                        here,
                        &format!("{at}{sub}"),
                        format!(
                            "`{name}` is no named group of the rule's regex (it has {})",
                            if groups.is_empty() {
                                "none".into()
                            } else {
                                groups.join(", ")
                            }
                        ),
                    );
                }
                known
            };
            if let Some(input) = &r.input
                && let Some(point) = template(self, "/input/point", &input.point)
            {
                actions.push(Action::InputState {
                    point,
                    state: input.state,
                });
            }
            if let Some(value) = &r.value {
                match (&value.field, value.set) {
                    (Some(name), None) => {
                        if let (Some(point), true) = (
                            template(self, "/value/point", &value.point),
                            field(self, "/value/field", name),
                        ) {
                            actions.push(Action::Value {
                                point,
                                field: name.clone(),
                                scale: value.scale.unwrap_or(1.0),
                                offset: value.offset.unwrap_or(0.0),
                            });
                        }
                    }
                    (None, Some(set)) => {
                        if let Some(point) = template(self, "/value/point", &value.point) {
                            actions.push(Action::Fixed {
                                point,
                                value: f64::from(set),
                            });
                        }
                    }
                    _ => self.rep.key(
                        &self.docs,
                        here,
                        &format!("{at}/value"),
                        "give `field` (a number in the message) or `set` (a fixed value)",
                    ),
                }
            }
            if let Some(event) = &r.event {
                let mut items = Vec::new();
                for (item, name) in event.items.iter().flatten() {
                    if field(self, &format!("/event/items/{item}"), name) {
                        items.push((item.clone(), name.clone()));
                    }
                }
                if let Some(topic) = template(self, "/event/point", &event.point) {
                    actions.push(Action::Event { topic, items });
                }
            }
            if let Some(ack) = &r.ack
                && ack
                    .key
                    .as_deref()
                    .is_none_or(|k| field(self, "/ack/key", k))
            {
                actions.push(Action::Ack {
                    key: ack.key.clone(),
                });
            }
            if let Some(nak) = &r.nak {
                let key_ok = nak
                    .key
                    .as_deref()
                    .is_none_or(|k| field(self, "/nak/key", k));
                let reason_ok = nak
                    .reason
                    .as_deref()
                    .is_none_or(|k| field(self, "/nak/reason", k));
                if key_ok && reason_ok {
                    actions.push(Action::Nak {
                        key: nak.key.clone(),
                        reason: nak.reason.clone(),
                    });
                }
            }
            if r.input.is_none()
                && r.value.is_none()
                && r.event.is_none()
                && r.ack.is_none()
                && r.nak.is_none()
            {
                self.rep.key(
                    &self.docs,
                    here,
                    &at,
                    "the rule produces nothing: give `input`, `value`, `event`, `ack` or `nak`",
                );
            }
            rules.push(Rule {
                name: r.name.clone(),
                matcher,
                actions,
            });
        }
        let mut commands = Vec::new();
        for (i, c) in spec.commands.iter().flatten().enumerate() {
            let at = format!("/commands/{i}");
            let mut template = match (&c.text, &c.parts) {
                (Some(text), None) => match CommandTemplate::text(&c.name, text) {
                    Ok(t) => t,
                    Err(e) => {
                        self.rep
                            .value(&self.docs, here, &format!("{at}/text"), e.to_string());
                        ok = false;
                        continue;
                    }
                },
                (None, Some(parts)) => {
                    let mut out = Vec::new();
                    for (j, part) in parts.iter().enumerate() {
                        let pat = format!("{at}/parts/{j}");
                        match (&part.bytes, &part.text, &part.int) {
                            (Some(b), None, None) => out.push(Part::Literal(b.clone())),
                            (None, Some(t), None) => match TextTemplate::parse(t) {
                                Ok(t) => out.push(Part::Text(t)),
                                Err(e) => {
                                    self.rep.value(
                                        &self.docs,
                                        here,
                                        &format!("{pat}/text"),
                                        e.to_string(),
                                    );
                                    ok = false;
                                }
                            },
                            (None, None, Some(param)) => {
                                let width = part.width.unwrap_or(1);
                                if !matches!(width, 1 | 2 | 4) {
                                    self.rep.value(
                                        &self.docs,
                                        here,
                                        &format!("{pat}/width"),
                                        "width is 1, 2 or 4 bytes",
                                    );
                                    ok = false;
                                }
                                let endianness = endianness(
                                    self,
                                    here,
                                    &format!("{pat}/byte_order"),
                                    part.byte_order.as_deref(),
                                );
                                out.push(Part::Int {
                                    param: param.clone(),
                                    width,
                                    endianness,
                                });
                            }
                            _ => {
                                self.rep.key(
                                    &self.docs,
                                    here,
                                    &pat,
                                    "give one of `bytes`, `text`, `int`",
                                );
                                ok = false;
                            }
                        }
                    }
                    CommandTemplate {
                        name: c.name.clone(),
                        parts: out,
                        ack: None,
                    }
                }
                _ => {
                    self.rep
                        .key(&self.docs, here, &at, "give `text` or `parts`, not both");
                    ok = false;
                    continue;
                }
            };
            if let Some(ack) = &c.ack {
                let key = match ack.key.as_deref().map(TextTemplate::parse).transpose() {
                    Ok(k) => k,
                    Err(e) => {
                        self.rep
                            .value(&self.docs, here, &format!("{at}/ack/key"), e.to_string());
                        None
                    }
                };
                template.ack = Some(AckSpec {
                    key,
                    timeout: ack.timeout.map_or(DEFAULT_ACK_TIMEOUT, |d| d.0),
                });
            }
            commands.push(template);
        }
        for (i, name) in spec
            .supervision
            .iter()
            .flat_map(|s| s.on_connect.iter().flatten())
            .enumerate()
        {
            if !commands.iter().any(|c| &c.name == name) {
                self.rep.value(
                    &self.docs,
                    here,
                    &format!("/supervision/on_connect/{i}"),
                    format!("the protocol has no command `{name}`"),
                );
                ok = false;
            }
        }
        let supervision = spec.supervision.as_ref().map(|s| Supervision {
            command: s.command.clone(),
            every: s.every.map_or(Duration::from_secs(30), |d| d.0),
            silence: s.silence.0,
        });
        if let Some(s) = &supervision
            && let Some(cmd) = &s.command
        {
            if !commands.iter().any(|c| &c.name == cmd) {
                self.rep.value(
                    &self.docs,
                    here,
                    "/supervision/command",
                    format!("the protocol has no command `{cmd}`"),
                );
                ok = false;
            }
            if s.silence <= s.every {
                self.rep.value(
                    &self.docs,
                    here,
                    "/supervision/silence",
                    "the silence allowed must be longer than the poll period `every`",
                );
                ok = false;
            }
        }
        let protocol = LineProtocol {
            name: spec.name.clone().unwrap_or_else(|| controller.to_string()),
            framing,
            max_frame,
            checksum,
            rules,
            commands,
            supervision,
        };
        ok.then_some(protocol)
    }
}

fn endianness(c: &mut Compiler, here: &Here, at: &str, order: Option<&str>) -> Endianness {
    match order {
        None | Some("big") => Endianness::Big,
        Some("little") => Endianness::Little,
        Some(other) => {
            c.rep.value(
                &c.docs,
                here,
                at,
                format!("`{other}` is not `big` or `little`"),
            );
            Endianness::Big
        }
    }
}

fn on_connect(spec: &LineProtocolSpec) -> Vec<String> {
    spec.supervision
        .as_ref()
        .and_then(|s| s.on_connect.clone())
        .unwrap_or_default()
}

fn token_ok(token: &str) -> bool {
    !token.is_empty() && token.len() <= 64 && !token.chars().any(char::is_whitespace)
}

fn list(templates: &[TextTemplate]) -> String {
    if templates.is_empty() {
        return "none".into();
    }
    let mut shown: Vec<String> = Vec::new();
    for t in templates.iter().map(show_template) {
        if !shown.contains(&t) {
            shown.push(t);
        }
    }
    shown.join(", ")
}

fn show_template(t: &TextTemplate) -> String {
    t.parts
        .iter()
        .map(|p| match p {
            TextPart::Literal(s) => s.clone(),
            TextPart::Placeholder { name, .. } => format!("{{{name}}}"),
        })
        .collect()
}

/// Whether `template` can render `id` (each placeholder stands for one or more characters).
fn can_produce(template: &TextTemplate, id: &str) -> bool {
    let mut pattern = String::from("^");
    for part in &template.parts {
        match part {
            TextPart::Literal(s) => pattern.push_str(&regex::escape(s)),
            TextPart::Placeholder { .. } => pattern.push_str(".+"),
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(id))
}

fn template_params(template: &CommandTemplate) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    };
    for part in &template.parts {
        match part {
            Part::Text(t) => t.names().for_each(&mut add),
            Part::Int { param, .. } => add(param),
            Part::Literal(_) => {}
        }
    }
    out
}

/// `${env:NAME}` or `${file:/path}`: the secret's value (a file's first line); other text is
/// no secret (`Ok(None)`).
fn secret(raw: &str) -> Result<Option<String>, String> {
    let Some(inner) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) else {
        return Ok(None);
    };
    if let Some(name) = inner.strip_prefix("env:") {
        return std::env::var(name)
            .map(Some)
            .map_err(|_| format!("the environment variable `{name}` is not set"));
    }
    if let Some(path) = inner.strip_prefix("file:") {
        return std::fs::read_to_string(path)
            .map(|t| Some(t.lines().next().unwrap_or("").trim().to_string()))
            .map_err(|e| format!("cannot read the secret file `{path}`: {e}"));
    }
    Err(format!(
        "`{raw}` is neither `${{env:NAME}}` nor `${{file:/path}}`"
    ))
}

impl Compiler {
    /// The controller's `events:` into record points.
    fn line_events(
        &mut self,
        here: &Here,
        controller: &str,
        protocol: &LineProtocol,
        spec: &LineControllerSpec,
        namespaces: &HashMap<String, String>,
    ) {
        // Every event template with the fields its occurrences carry.
        let mut templates: Vec<(TextTemplate, BTreeSet<String>)> = Vec::new();
        for rule in &protocol.rules {
            let groups: BTreeSet<String> = match &rule.matcher {
                Matcher::Text(re) => re.capture_names().flatten().map(str::to_string).collect(),
                Matcher::Binary { fields, .. } => fields.iter().map(|f| f.name.clone()).collect(),
            };
            for action in &rule.actions {
                if let Action::Event { topic, items } = action {
                    let fields = if items.is_empty() {
                        groups.clone()
                    } else {
                        items.iter().map(|(item, _)| item.clone()).collect()
                    };
                    templates.push((topic.clone(), fields));
                }
            }
        }
        let mut names: BTreeSet<String> =
            self.plan.records.iter().map(|r| r.name.clone()).collect();
        for (i, event) in spec.events.iter().flatten().enumerate() {
            let at = format!("/events/{i}");
            if !names.insert(event.name.clone()) {
                self.rep.value(
                    &self.docs,
                    here,
                    &format!("{at}/name"),
                    format!("event name `{}` is already used", event.name),
                );
                continue;
            }
            let producing: Vec<&BTreeSet<String>> = templates
                .iter()
                .filter(|(t, _)| can_produce(t, &event.point))
                .map(|(_, f)| f)
                .collect();
            if producing.is_empty() {
                let shown: Vec<TextTemplate> = templates.iter().map(|(t, _)| t.clone()).collect();
                self.rep.value(&self.docs, here, &format!("{at}/point"), format!("no rule of the protocol produces the event `{}` (its `event` points are {})", event.point, list(&shown)));
                continue;
            }
            let topic = match crate::topics::split(&event.topic) {
                Ok((prefix, path)) => match namespaces.get(prefix) {
                    Some(uri) => crate::topics::name(uri, path),
                    None => {
                        self.rep.value(&self.docs, here, &format!("{at}/topic"), format!("unknown namespace prefix `{prefix}`: declare it in `topic_namespaces` or use `rg:`"));
                        continue;
                    }
                },
                Err(e) => {
                    self.rep.value(&self.docs, here, &format!("{at}/topic"), e);
                    continue;
                }
            };
            let mut data = Vec::new();
            for (j, item) in event.data.iter().enumerate() {
                let field = item.field.clone().unwrap_or_else(|| item.name.clone());
                if !producing.iter().all(|f| f.contains(&field)) {
                    let known: BTreeSet<&String> =
                        producing.iter().flat_map(|f| f.iter()).collect();
                    let known: Vec<&str> = known.into_iter().map(String::as_str).collect();
                    self.rep.value(
                        &self.docs,
                        here,
                        &format!("{at}/data/{j}"),
                        format!(
                            "occurrences of `{}` carry no field `{field}` (they carry {})",
                            event.point,
                            if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
                let ty = item.item_type.map_or(ItemType::String, |t| item_type(t).1);
                data.push(RecordItem {
                    name: item.name.clone(),
                    ty,
                    field,
                });
            }
            let mut source = Vec::new();
            for item in event.source.iter().flatten() {
                let value = item
                    .value
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let ty = item.item_type.map_or(ItemType::String, |t| item_type(t).1);
                source.push(FixedItem {
                    name: item.name.clone(),
                    ty,
                    value,
                });
            }
            self.plan.records.push(RecordPoint {
                name: event.name.clone(),
                controller: controller.to_string(),
                point: PointId(event.point.clone()),
                event: RecordEvent {
                    topic,
                    source,
                    key: Vec::new(),
                    data,
                },
            });
        }
    }
}

impl Compiler {
    fn line_topic(
        &mut self,
        here: &Here,
        at: &str,
        topic: &str,
        namespaces: &HashMap<String, String>,
    ) -> Option<crate::plan::TopicName> {
        match crate::topics::split(topic) {
            Ok((prefix, path)) => match namespaces.get(prefix) {
                Some(uri) => Some(crate::topics::name(uri, path)),
                None => {
                    self.rep.value(&self.docs, here, at, format!("unknown namespace prefix `{prefix}`: declare it in `topic_namespaces` or use `rg:`"));
                    None
                }
            },
            Err(e) => {
                self.rep.value(&self.docs, here, at, e);
                None
            }
        }
    }

    /// The controller's `values:` into value points (property events).
    fn line_values(
        &mut self,
        here: &Here,
        controller: &str,
        protocol: &LineProtocol,
        spec: &LineControllerSpec,
        namespaces: &HashMap<String, String>,
    ) {
        let templates: Vec<TextTemplate> = protocol
            .rules
            .iter()
            .flat_map(|r| &r.actions)
            .filter_map(|a| match a {
                Action::Value { point, .. } | Action::Fixed { point, .. } => Some(point.clone()),
                _ => None,
            })
            .collect();
        for (i, value) in spec.values.iter().flatten().enumerate() {
            let at = format!("/values/{i}");
            if self.plan.values.iter().any(|v| v.name == value.name) {
                self.rep.value(
                    &self.docs,
                    here,
                    &format!("{at}/name"),
                    format!("value name `{}` is already used", value.name),
                );
                continue;
            }
            if !templates.iter().any(|t| can_produce(t, &value.point)) {
                self.rep.value(&self.docs, here, &format!("{at}/point"), format!("no rule of the protocol produces the value `{}` (its `value` points are {})", value.point, list(&templates)));
                continue;
            }
            let Some(topic) =
                self.line_topic(here, &format!("{at}/topic"), &value.topic, namespaces)
            else {
                continue;
            };
            let mut map = BTreeMap::new();
            for (raw, text) in value.map.iter().flatten() {
                match raw.parse::<i64>() {
                    Ok(n) if (0..=65535).contains(&n) => {
                        map.insert(n, text.clone());
                    }
                    _ => self.rep.key(
                        &self.docs,
                        here,
                        &format!("{at}/map/{raw}"),
                        format!("`{raw}` is not a number from 0 to 65535"),
                    ),
                }
            }
            let mapped = !map.is_empty();
            let mut decode = Decode::raw(WireType::U16, ByteOrder::Abcd);
            decode.map = mapped.then_some(map);
            let mut source = Vec::new();
            for item in value.source.iter().flatten() {
                let v = item
                    .value
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let ty = item.item_type.map_or(ItemType::String, |t| item_type(t).1);
                source.push(FixedItem {
                    name: item.name.clone(),
                    ty,
                    value: v,
                });
            }
            let data_name = value
                .data
                .clone()
                .unwrap_or_else(|| if mapped { "State" } else { "Value" }.to_string());
            self.plan.values.push(ValuePoint {
                name: value.name.clone(),
                controller: controller.to_string(),
                point: PointId(value.point.clone()),
                decode,
                deadband: None,
                heartbeat: None,
                event: EventSpec {
                    topic,
                    source,
                    key: Vec::new(),
                    data_name,
                    data_type: if mapped {
                        ItemType::String
                    } else {
                        ItemType::Int
                    },
                    property: true,
                },
            });
        }
    }
}

impl Compiler {
    /// The protocol of a line controller: inline, or a protocol profile loaded (and reported
    /// against) as its own file.
    fn line_protocol_ref(
        &mut self,
        here: &Here,
        controller: &str,
        spec: &LineProtocolRef,
    ) -> Option<(LineProtocol, Vec<String>)> {
        let inline_here = Here {
            doc: here.doc,
            pointer: here.sub("/protocol"),
            inst: None,
        };
        let name = match spec {
            LineProtocolRef::Inline(p) => {
                let protocol = self.line_protocol(&inline_here, controller, p)?;
                return Some((protocol, on_connect(p)));
            }
            LineProtocolRef::Named(name) => name,
        };
        if !crate::profiles::valid_name(name) {
            self.rep.value(
                &self.docs,
                here,
                "/protocol",
                format!("`{name}` is not a profile name: lowercase letters, digits, `-`, `_`, `.`"),
            );
            return None;
        }
        let (path, text) = match crate::profiles::find_line(name, self.profile_dir.as_deref()) {
            crate::profiles::Found::File(p, t) => (p, t),
            crate::profiles::Found::Builtin(p, t) => (p, t.to_string()),
            crate::profiles::Found::Unreadable(p, e) => {
                self.rep.value(
                    &self.docs,
                    here,
                    "/protocol",
                    format!("protocol `{name}` cannot be read from {}: {e}", p.display()),
                );
                return None;
            }
            crate::profiles::Found::Missing => {
                self.rep.value(
                    &self.docs,
                    here,
                    "/protocol",
                    format!(
                        "unknown protocol profile `{name}`; built in: {}",
                        crate::profiles::LINE_PROTOCOLS.join(", ")
                    ),
                );
                return None;
            }
        };
        let mut parsed = crate::parse::parse(crate::schema::FileKind::LineProtocol, &path, &text);
        self.rep.diags.append(&mut parsed.diags);
        if !parsed.bad.is_empty() {
            return None;
        }
        let spec: LineProtocolSpec = serde_json::from_value(parsed.root.clone()?).ok()?;
        self.docs.push(parsed.doc);
        let doc = self.docs.len() - 1;
        let protocol_here = Here {
            doc,
            pointer: String::new(),
            inst: None,
        };
        let mut protocol = self.line_protocol(&protocol_here, controller, &spec)?;
        if spec.name.is_none() {
            protocol.name = name.clone();
        }
        Some((protocol, on_connect(&spec)))
    }
}
