//! Card-reader controllers (`card_readers:`): OSDP buses, serial Wiegand converters and
//! Wiegand on GPIO, into [`Link::Readers`] controllers, a [`RecordPoint`] per reader's card
//! reads (and keypad input), and a relay per reader LED.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use railgate_adapters::PointId;
use railgate_adapters::osdp::LedColor;
use railgate_adapters::serial::LineSettings;
use railgate_adapters::wiegand::Format;
use railgate_adapters::wiegand::ascii::{AsciiConfig, Encoding};

use crate::model_readers::{CardItemSpec, EncodingSpec, LedColorSpec, ReaderControllerSpec};
use crate::plan::{
    Controller, FixedItem, IdleState, InputPoint, ItemType, Link, Reader, ReaderLed, ReaderLink,
    ReaderSecure, ReaderTransport, RecordEvent, RecordItem, RecordPoint, RelayMode, RelayPoint,
    TopicName,
};
use crate::topics;

use super::report::Here;
use super::{Compiler, Scope, TokenKind};

/// The default topic of card reads.
pub(crate) const CARD_TOPIC: &str = topics::CARD_READ;
/// The default topic of keypad input.
pub(crate) const KEYPAD_TOPIC: &str = topics::KEYPAD;
/// Highest OSDP address (0x7F is the broadcast address).
const MAX_OSDP_ADDRESS: u32 = 126;

impl Compiler {
    /// Checks every card-reader controller; the usable ones go to the plan (their controllers
    /// are returned, to be appended after the Modbus ones).
    pub(super) fn card_readers(
        &mut self,
        specs: &[(String, ReaderControllerSpec)],
        namespaces: &HashMap<String, String>,
    ) -> Vec<Controller> {
        let mut out: Vec<Controller> = Vec::new();
        let mut tokens: HashMap<String, Here> = HashMap::new();
        let scope = Scope {
            doc: 0,
            inst: None,
            fixed_ctrl: None,
            base: None,
            offset: 0,
            prefix: String::new(),
        };
        for (pointer, spec) in specs {
            let here = Here {
                doc: 0,
                pointer: pointer.clone(),
                inst: None,
            };
            let name = spec.name.as_str();
            if !self.controller_name_ok(&here, name) {
                continue;
            }
            if self.ctrls.iter().any(|c| c.name == name)
                || self.broken_ctrls.contains(name)
                || out.iter().any(|c| c.name == name)
            {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/name",
                    format!("controller name `{name}` is already used"),
                );
                continue;
            }
            let mut ok = true;
            let kinds = [
                spec.osdp.is_some(),
                spec.wiegand_serial.is_some(),
                spec.wiegand_gpio.is_some(),
            ];
            let (transport, link_format) = match kinds {
                [true, false, false] => {
                    let osdp = spec.osdp.as_ref().expect("checked");
                    let baud = osdp.baud.unwrap_or(9600);
                    if !railgate_adapters::osdp::config::BAUD_RATES.contains(&baud) {
                        self.rep.value(
                            &self.docs,
                            &here,
                            "/osdp/baud",
                            format!("{baud} baud is not an OSDP speed (9600, 19200, 38400, 57600, 115200 or 230400)"),
                        );
                        ok = false;
                    }
                    ok &= self.device(&here, "/osdp/device", &osdp.device);
                    let rs485 = self.rs485_mode(&here, "/osdp/rs485", osdp.rs485.as_ref());
                    ok &= rs485.is_some();
                    (
                        ReaderTransport::Osdp {
                            device: PathBuf::from(&osdp.device),
                            baud,
                            rs485: rs485.unwrap_or_default(),
                        },
                        None,
                    )
                }
                [false, true, false] => {
                    let ser = spec.wiegand_serial.as_ref().expect("checked");
                    let baud = ser.baud.unwrap_or(9600);
                    if !(300..=4_000_000).contains(&baud) {
                        self.rep.value(
                            &self.docs,
                            &here,
                            "/wiegand_serial/baud",
                            format!("{baud} baud is not a serial speed (300 to 4000000)"),
                        );
                        ok = false;
                    }
                    ok &= self.device(&here, "/wiegand_serial/device", &ser.device);
                    let format = self.format(&here, "/wiegand_serial/format", &ser.format);
                    let encoding = match ser.encoding.unwrap_or(EncodingSpec::Hex) {
                        EncodingSpec::Hex => Encoding::Hex,
                        EncodingSpec::Decimal => Encoding::Decimal,
                    };
                    let ascii = AsciiConfig {
                        encoding,
                        includes_parity: ser.includes_parity.unwrap_or(true),
                        bits: format.and_then(Format::bits).unwrap_or(0),
                    };
                    if let Some(f) = format {
                        if let Err(e) = railgate_adapters::wiegand::ascii::line_bits(&ascii, f) {
                            self.rep.value(
                                &self.docs,
                                &here,
                                "/wiegand_serial/format",
                                e.to_string(),
                            );
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                    let rs485 = self.rs485_mode(&here, "/wiegand_serial/rs485", ser.rs485.as_ref());
                    ok &= rs485.is_some();
                    (
                        ReaderTransport::WiegandSerial {
                            device: PathBuf::from(&ser.device),
                            line: LineSettings {
                                rs485: rs485.unwrap_or_default(),
                                ..LineSettings::eight_n_one(baud)
                            },
                            ascii,
                        },
                        format,
                    )
                }
                [false, false, true] => {
                    let gpio = spec.wiegand_gpio.as_ref().expect("checked");
                    ok &= self.device(&here, "/wiegand_gpio/chip", &gpio.chip);
                    const MAX_LINE: u32 = 1023;
                    for (sub, line) in
                        [("/wiegand_gpio/d0", gpio.d0), ("/wiegand_gpio/d1", gpio.d1)]
                    {
                        if line > MAX_LINE {
                            self.rep.value(
                                &self.docs,
                                &here,
                                sub,
                                format!("{line} is not a GPIO line offset (0 to {MAX_LINE}; `gpioinfo` lists a chip's lines)"),
                            );
                            ok = false;
                        }
                    }
                    if gpio.d0 == gpio.d1 {
                        self.rep.value(
                            &self.docs,
                            &here,
                            "/wiegand_gpio/d1",
                            format!("D0 and D1 are both line {}: they are two wires", gpio.d0),
                        );
                        ok = false;
                    }
                    let format = self.format(&here, "/wiegand_gpio/format", &gpio.format);
                    ok &= format.is_some();
                    let frame_gap = gpio.frame_gap.map_or(Duration::from_millis(25), |d| d.0);
                    let min_interval = gpio
                        .min_interval
                        .map_or(Duration::from_micros(200), |d| d.0);
                    if frame_gap.is_zero() || frame_gap <= min_interval {
                        self.rep.value(
                            &self.docs,
                            &here,
                            "/wiegand_gpio/frame_gap",
                            "the frame gap must be longer than `min_interval` (default 25ms)",
                        );
                        ok = false;
                    }
                    (
                        ReaderTransport::WiegandGpio {
                            chip: PathBuf::from(&gpio.chip),
                            d0: gpio.d0,
                            d1: gpio.d1,
                            frame_gap,
                            min_interval,
                        },
                        format,
                    )
                }
                [false, false, false] => {
                    self.rep.key(
                        &self.docs,
                        &here,
                        "",
                        "no transport: add `osdp: {device: /dev/ttyUSB0, baud: 9600}`, `wiegand_serial: {device: ..., format: h10301}` or `wiegand_gpio: {chip: /dev/gpiochip0, d0: ..., d1: ..., format: h10301}`",
                    );
                    continue;
                }
                _ => {
                    self.rep.key(
                        &self.docs,
                        &here,
                        "",
                        "give one transport: `osdp`, `wiegand_serial` or `wiegand_gpio`",
                    );
                    continue;
                }
            };
            let is_osdp = matches!(transport, ReaderTransport::Osdp { .. });
            if !is_osdp && spec.readers.len() != 1 {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/readers",
                    format!(
                        "a Wiegand link has exactly one reader ({} given)",
                        spec.readers.len()
                    ),
                );
                ok = false;
            }
            if spec.readers.is_empty() {
                self.rep.value(&self.docs, &here, "/readers", "no readers");
                ok = false;
            }
            let mut addresses: BTreeMap<u32, usize> = BTreeMap::new();
            let mut readers = Vec::new();
            let mut records = Vec::new();
            let mut relays = Vec::new();
            let mut inputs = Vec::new();
            for (i, r) in spec.readers.iter().enumerate() {
                let rhere = here.sub(&format!("/readers/{i}"));
                let rhere = Here {
                    doc: 0,
                    pointer: rhere,
                    inst: None,
                };
                let Some(token) = self.scoped_name(&scope, &rhere, "/token", &r.token) else {
                    ok = false;
                    continue;
                };
                if let Some(first) = tokens.get(&token) {
                    let line = first.pointer.clone();
                    self.rep.value(
                        &self.docs,
                        &rhere,
                        "/token",
                        format!("reader token `{token}` is already used (at {line})"),
                    );
                    ok = false;
                    continue;
                }
                tokens.insert(token.clone(), rhere.clone());
                let mut address = 0u8;
                let mut secure = ReaderSecure::Off;
                let mut format = link_format;
                if is_osdp {
                    match r.address {
                        None => {
                            self.rep.key(
                                &self.docs,
                                &rhere,
                                "",
                                "an OSDP reader needs its `address` (0 to 126; readers ship at 0 or 1)",
                            );
                            ok = false;
                        }
                        Some(a) if a > MAX_OSDP_ADDRESS => {
                            self.rep.value(
                                &self.docs,
                                &rhere,
                                "/address",
                                format!("OSDP address {a} is out of range: 0 to 126 (127 is the broadcast address)"),
                            );
                            ok = false;
                        }
                        Some(a) => {
                            if let Some(j) = addresses.get(&a) {
                                self.rep.value(
                                    &self.docs,
                                    &rhere,
                                    "/address",
                                    format!(
                                        "OSDP address {a} is already used by reader {j} of this bus"
                                    ),
                                );
                                ok = false;
                            }
                            addresses.insert(a, i);
                            address = u8::try_from(a).unwrap_or(0);
                        }
                    }
                    format = match &r.format {
                        Some(f) => self.format(&rhere, "/format", f),
                        None => Some(Format::H10301),
                    };
                    ok &= format.is_some();
                    secure = match r.secure.as_deref().map(str::trim) {
                        None | Some("install") => ReaderSecure::Install,
                        Some("off") => ReaderSecure::Off,
                        Some("") => {
                            self.rep.value(
                                &self.docs,
                                &rhere,
                                "/secure",
                                "`secure` is `install`, `off` or the path of a key file",
                            );
                            ok = false;
                            ReaderSecure::Off
                        }
                        Some(path) => ReaderSecure::KeyFile(PathBuf::from(path)),
                    };
                } else {
                    for (key, given) in [
                        ("/address", r.address.is_some()),
                        ("/format", r.format.is_some()),
                        ("/secure", r.secure.is_some()),
                        ("/keypad_topic", r.keypad_topic.is_some()),
                        ("/led", r.led.is_some()),
                        ("/tamper_input", r.tamper_input.is_some()),
                        ("/power_input", r.power_input.is_some()),
                    ] {
                        if given {
                            self.rep.key(
                                &self.docs,
                                &rhere,
                                key,
                                format!("`{}` is for OSDP readers only (a Wiegand link gives its format beside its device)", &key[1..]),
                            );
                            ok = false;
                        }
                    }
                }
                let card_point = PointId(format!("{token}/card"));
                let topic =
                    self.reader_topic(&rhere, "/topic", r.topic.as_deref(), CARD_TOPIC, namespaces);
                let items = r.data.clone().unwrap_or_else(|| {
                    vec![
                        CardItemSpec::Format,
                        CardItemSpec::FacilityCode,
                        CardItemSpec::CardNumber,
                    ]
                });
                let mut data = Vec::new();
                for (k, item) in items.iter().enumerate() {
                    if items[..k].contains(item) {
                        self.rep.value(
                            &self.docs,
                            &rhere,
                            &format!("/data/{k}"),
                            "this item is listed twice",
                        );
                        ok = false;
                    }
                    let pairs: &[(&str, ItemType)] = match item {
                        CardItemSpec::Format => &[("Format", ItemType::String)],
                        CardItemSpec::FacilityCode => &[("FacilityCode", ItemType::Int)],
                        CardItemSpec::CardNumber => &[("CardNumber", ItemType::String)],
                        CardItemSpec::Bits => {
                            &[("Bits", ItemType::String), ("BitCount", ItemType::Int)]
                        }
                    };
                    for (name, ty) in pairs {
                        data.push(RecordItem {
                            name: (*name).to_string(),
                            ty: *ty,
                            field: (*name).to_string(),
                        });
                    }
                }
                let source = vec![FixedItem {
                    name: "Reader".to_string(),
                    ty: ItemType::String,
                    value: token.clone(),
                }];
                if let Some(topic) = topic {
                    records.push(RecordPoint {
                        name: token.clone(),
                        controller: name.to_string(),
                        point: card_point.clone(),
                        event: RecordEvent {
                            topic,
                            source: source.clone(),
                            key: Vec::new(),
                            data,
                        },
                    });
                } else {
                    ok = false;
                }
                let mut keypad_point = None;
                if is_osdp {
                    let point = PointId(format!("{token}/keypad"));
                    if let Some(topic) = self.reader_topic(
                        &rhere,
                        "/keypad_topic",
                        r.keypad_topic.as_deref(),
                        KEYPAD_TOPIC,
                        namespaces,
                    ) {
                        records.push(RecordPoint {
                            name: format!("{token}-Keypad"),
                            controller: name.to_string(),
                            point: point.clone(),
                            event: RecordEvent {
                                topic,
                                source,
                                key: Vec::new(),
                                data: vec![RecordItem {
                                    name: "Keys".to_string(),
                                    ty: ItemType::String,
                                    field: "Keys".to_string(),
                                }],
                            },
                        });
                        keypad_point = Some(point);
                    } else {
                        ok = false;
                    }
                }
                let mut led = None;
                if let Some(spec_led) = &r.led {
                    let Some(relay) =
                        self.scoped_name(&scope, &rhere, "/led/relay", &spec_led.relay)
                    else {
                        ok = false;
                        continue;
                    };
                    if !self.claim_token(TokenKind::Relay, &relay, &rhere, "/led/relay", &relay) {
                        ok = false;
                    }
                    let point = PointId(format!("{token}/led"));
                    relays.push(RelayPoint {
                        token: relay,
                        controller: name.to_string(),
                        write: point.clone(),
                        read: point.clone(),
                        invert: false,
                        mode: RelayMode::Bistable,
                        delay: Duration::ZERO,
                        idle_state: IdleState::Open,
                    });
                    led = Some(ReaderLed {
                        point,
                        color: match spec_led.color.unwrap_or(LedColorSpec::Green) {
                            LedColorSpec::Red => LedColor::Red,
                            LedColorSpec::Green => LedColor::Green,
                            LedColorSpec::Amber => LedColor::Amber,
                            LedColorSpec::Blue => LedColor::Blue,
                            LedColorSpec::Magenta => LedColor::Magenta,
                            LedColorSpec::Cyan => LedColor::Cyan,
                        },
                        buzzer: spec_led.buzzer.unwrap_or(false),
                    });
                }
                let tamper_point = is_osdp.then(|| PointId(format!("{token}/tamper")));
                let power_point = is_osdp.then(|| PointId(format!("{token}/power")));
                for (sub, given, point) in [
                    ("/tamper_input", &r.tamper_input, &tamper_point),
                    ("/power_input", &r.power_input, &power_point),
                ] {
                    let (Some(raw), Some(point)) = (given, point) else {
                        continue;
                    };
                    let Some(input) = self.scoped_name(&scope, &rhere, sub, raw) else {
                        ok = false;
                        continue;
                    };
                    if !self.claim_token(TokenKind::Input, &input, &rhere, sub, &input) {
                        ok = false;
                        continue;
                    }
                    inputs.push(InputPoint {
                        token: input,
                        controller: name.to_string(),
                        point: point.clone(),
                        invert: false,
                        debounce: Duration::ZERO,
                        idle_state: IdleState::Open,
                    });
                }
                readers.push(Reader {
                    token: token.clone(),
                    address,
                    format: format.unwrap_or(Format::H10301),
                    secure,
                    card_point,
                    keypad_point,
                    tamper_point,
                    power_point,
                    led,
                });
            }
            if ok {
                self.plan.records.extend(records);
                self.plan.relays.extend(relays);
                self.plan.inputs.extend(inputs);
                out.push(Controller {
                    name: name.to_string(),
                    link: Link::Readers(ReaderLink { transport, readers }),
                });
            }
        }
        out
    }

    /// A device path: non-empty, absolute.
    fn device(&mut self, here: &Here, sub: &str, path: &str) -> bool {
        if !path.starts_with('/') {
            self.rep.value(
                &self.docs,
                here,
                sub,
                format!("`{path}` is not a device path (write e.g. `/dev/ttyUSB0`)"),
            );
            return false;
        }
        true
    }

    /// A Wiegand format by name; an unknown one lists the known names.
    fn format(&mut self, here: &Here, sub: &str, name: &str) -> Option<Format> {
        match Format::from_str(name) {
            Ok(f) => Some(f),
            Err(_) => {
                let known: Vec<&str> = Format::names().collect();
                self.rep.value(
                    &self.docs,
                    here,
                    sub,
                    format!(
                        "unknown Wiegand format `{name}`; known formats: {}",
                        known.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// A reader event's topic (`default` in the `rg` namespace when not given).
    fn reader_topic(
        &mut self,
        here: &Here,
        sub: &str,
        given: Option<&str>,
        default: &str,
        namespaces: &HashMap<String, String>,
    ) -> Option<TopicName> {
        let Some(text) = given else {
            return Some(topics::name(topics::RAILGATE_TOPICS, default));
        };
        let (prefix, path) = match topics::split(text) {
            Ok(split) => split,
            Err(message) => {
                self.rep.value(&self.docs, here, sub, message);
                return None;
            }
        };
        let Some(ns) = namespaces.get(prefix) else {
            self.rep.value(
                &self.docs,
                here,
                sub,
                format!("namespace prefix `{prefix}` is not declared in `topic_namespaces`"),
            );
            return None;
        };
        // A reader may name its own kind's default topic (reserved for readers, not from them).
        let own_default = ns == topics::RAILGATE_TOPICS && path == default;
        if let Some(why) = topics::reserved_in(ns, path).filter(|_| !own_default) {
            self.rep.value(
                &self.docs,
                here,
                sub,
                format!("`{text}` is reserved: {why}"),
            );
            return None;
        }
        Some(topics::name(ns, path))
    }
}
