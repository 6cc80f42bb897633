//! A binary protocol end to end: `02 LEN payload CRClo CRChi 03`, LEN counting the payload,
//! CRC-16/Modbus over LEN and the payload, sent low byte first. Payload types (made up for
//! the example): 10 input change (input, state), 11 reading (u16 big-endian, tenths),
//! 20 alarm event (code, area), 30 status bits, 06 ack (command), 15 nak (command, error).

use std::time::Duration;

use crate::line::{
    AckSpec, Action, BinaryField, BinaryType, ByteMatch, Checksum, ChecksumAlgorithm,
    ChecksumEncoding, CommandTemplate, Decoded, Decoder, Endianness, Framing, LengthField,
    LineProtocol, Matcher, Outcome, Params, Part, Rule, TextTemplate, command::answers,
};
use crate::point::PointId;

fn at(offset: usize, value: u8) -> ByteMatch {
    ByteMatch {
        offset,
        value,
        mask: 0xFF,
    }
}

fn field(name: &str, offset: usize, kind: BinaryType) -> BinaryField {
    BinaryField {
        name: name.into(),
        offset,
        kind,
        endianness: Endianness::Big,
    }
}

fn rule(name: &str, bytes: Vec<ByteMatch>, fields: Vec<BinaryField>, actions: Vec<Action>) -> Rule {
    Rule {
        name: name.into(),
        matcher: Matcher::Binary {
            bytes,
            length: None,
            fields,
        },
        actions,
    }
}

fn t(s: &str) -> TextTemplate {
    TextTemplate::parse(s).unwrap()
}

fn protocol() -> LineProtocol {
    // Message offsets: 0 LEN, 1 type, 2… data.
    let input = || vec![field("input", 2, BinaryType::U8)];
    LineProtocol {
        name: "binary_example".into(),
        framing: Framing::LengthPrefixed {
            start: vec![0x02],
            length: LengthField {
                offset: 0,
                width: 1,
                endianness: Endianness::Big,
                adjust: 3,
            },
            end: vec![0x03],
        },
        max_frame: 32,
        checksum: Some(Checksum::trailing(
            ChecksumAlgorithm::Crc16Modbus,
            ChecksumEncoding::Binary(Endianness::Little),
        )),
        rules: vec![
            rule(
                "input_on",
                vec![at(1, 0x10), at(3, 0x01)],
                input(),
                vec![Action::InputState {
                    point: t("bin/input/{input}"),
                    state: true,
                }],
            ),
            rule(
                "input_off",
                vec![at(1, 0x10), at(3, 0x00)],
                input(),
                vec![Action::InputState {
                    point: t("bin/input/{input}"),
                    state: false,
                }],
            ),
            rule(
                "reading",
                vec![at(1, 0x11)],
                vec![field("raw", 2, BinaryType::U16)],
                vec![Action::Value {
                    point: t("bin/temperature"),
                    field: "raw".into(),
                    scale: 0.1,
                    offset: 0.0,
                }],
            ),
            rule(
                "alarm",
                vec![at(1, 0x20)],
                vec![
                    field("code", 2, BinaryType::U8),
                    field("area", 3, BinaryType::U8),
                ],
                vec![Action::Event {
                    topic: t("bin/Alarm"),
                    items: vec![],
                }],
            ),
            rule(
                "status",
                vec![at(1, 0x30)],
                vec![
                    field(
                        "mode",
                        2,
                        BinaryType::Bits {
                            width: 1,
                            shift: 4,
                            bits: 3,
                        },
                    ),
                    field(
                        "tamper",
                        2,
                        BinaryType::Bits {
                            width: 1,
                            shift: 1,
                            bits: 1,
                        },
                    ),
                    field("raw", 2, BinaryType::Bytes(1)),
                ],
                vec![Action::Event {
                    topic: t("bin/Status"),
                    items: vec![],
                }],
            ),
            rule(
                "ack",
                vec![at(1, 0x06)],
                vec![field("command", 2, BinaryType::U8)],
                vec![Action::Ack {
                    key: Some("command".into()),
                }],
            ),
            rule(
                "nak",
                vec![at(1, 0x15)],
                vec![
                    field("command", 2, BinaryType::U8),
                    field("error", 3, BinaryType::U8),
                ],
                vec![Action::Nak {
                    key: Some("command".into()),
                    reason: Some("error".into()),
                }],
            ),
        ],
        commands: vec![CommandTemplate {
            name: "relay".into(),
            parts: vec![
                Part::Literal(vec![0x40]),
                Part::Int {
                    param: "relay".into(),
                    width: 1,
                    endianness: Endianness::Big,
                },
                Part::Int {
                    param: "state".into(),
                    width: 1,
                    endianness: Endianness::Big,
                },
            ],
            ack: Some(AckSpec {
                key: Some(t("64")), // 0x40, as the ack's u8 field prints it
                timeout: Duration::from_millis(500),
            }),
        }],
        supervision: None,
    }
}

const INPUT_5_ON: [u8; 8] = [0x02, 0x03, 0x10, 0x05, 0x01, 0xC3, 0x35, 0x03];
const INPUT_5_OFF: [u8; 8] = [0x02, 0x03, 0x10, 0x05, 0x00, 0x02, 0xF5, 0x03];
const READING: [u8; 8] = [0x02, 0x03, 0x11, 0x00, 0xFA, 0xD0, 0x26, 0x03];
const ALARM: [u8; 8] = [0x02, 0x03, 0x20, 0x02, 0x03, 0x40, 0xCB, 0x03];
const STATUS: [u8; 7] = [0x02, 0x02, 0x30, 0x5A, 0x44, 0x3B, 0x03];
const ACK: [u8; 7] = [0x02, 0x02, 0x06, 0x40, 0xD2, 0x50, 0x03];
const NAK: [u8; 8] = [0x02, 0x03, 0x15, 0x40, 0x07, 0x61, 0xA6, 0x03];

fn outcomes(decoded: Vec<Decoded>) -> Vec<Outcome> {
    decoded
        .into_iter()
        .flat_map(|d| match d {
            Decoded::Matched { outcomes, .. } => outcomes,
            other => panic!("not matched: {other:?}"),
        })
        .collect()
}

#[test]
fn line_binary_example_end_to_end() {
    let p = protocol();
    p.check().unwrap();
    let mut stream = vec![0x55, 0x03]; // noise before the first frame
    for frame in [&INPUT_5_ON[..], &INPUT_5_OFF, &READING, &ALARM, &STATUS] {
        stream.extend_from_slice(frame);
    }
    // Any chunking gives the same outcomes.
    for chunk in [1, 2, 3, 7, stream.len()] {
        let mut decoder = Decoder::new(&p);
        let got: Vec<Outcome> = stream
            .chunks(chunk)
            .flat_map(|c| outcomes(decoder.push(c)))
            .collect();
        let items = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            got,
            [
                Outcome::InputState {
                    point: PointId("bin/input/5".into()),
                    state: true
                },
                Outcome::InputState {
                    point: PointId("bin/input/5".into()),
                    state: false
                },
                Outcome::Value {
                    point: PointId("bin/temperature".into()),
                    value: 25.0
                },
                Outcome::Event {
                    topic: "bin/Alarm".into(),
                    items: items(&[("area", "3"), ("code", "2")]),
                },
                // 0x5A = 0101 1010: bits 4..6 = 101 = 5, bit 1 = 1.
                Outcome::Event {
                    topic: "bin/Status".into(),
                    items: items(&[("mode", "5"), ("raw", "5A"), ("tamper", "1")]),
                },
            ],
            "chunks of {chunk}"
        );
        let c = decoder.counters();
        assert_eq!(
            (c.frames, c.bad_checksum, c.unmatched, c.garbage),
            (5, 0, 0, 2)
        );
    }
}

#[test]
fn line_binary_bad_crc_and_unknown_type_are_counted() {
    let mut decoder = Decoder::new(&protocol());
    let mut corrupt = INPUT_5_ON;
    corrupt[4] = 0x00; // state flipped, CRC not
    let unknown = crate::line::command::encode(
        &protocol().framing,
        protocol().checksum.as_ref(),
        &[0x7F, 0x01],
        32,
    )
    .unwrap();
    let got = decoder.push(&[&corrupt[..], &unknown, &INPUT_5_OFF].concat());
    assert!(matches!(got[0], Decoded::BadChecksum { .. }));
    assert!(matches!(got[1], Decoded::Unmatched { .. }));
    assert!(matches!(got[2], Decoded::Matched { .. }));
    let c = decoder.counters();
    assert_eq!((c.frames, c.bad_checksum, c.unmatched), (3, 1, 1));
}

#[test]
fn line_binary_command_and_its_ack() {
    let p = protocol();
    let mut params = Params::new();
    params.insert("relay".into(), "2".into());
    params.insert("state".into(), "1".into());
    // Length inserted, CRC-16/Modbus low byte first, markers added.
    assert_eq!(
        p.render("relay", &params).unwrap(),
        [0x02, 0x03, 0x40, 0x02, 0x01, 0xC1, 0x14, 0x03]
    );
    params.insert("state".into(), "256".into());
    assert!(
        p.render("relay", &params).is_err(),
        "256 does not fit a byte"
    );
    let key = p.command("relay").unwrap().ack_key(&params).unwrap();
    let mut decoder = Decoder::new(&p);
    let ack = outcomes(decoder.push(&ACK));
    assert_eq!(answers(key.as_deref(), &ack[0]), Some(Ok(())));
    let nak = outcomes(decoder.push(&NAK));
    assert_eq!(answers(key.as_deref(), &nak[0]), Some(Err("7".into())));
}
