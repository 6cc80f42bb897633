//! The line-protocol codec (`railgate_adapters::line`): framers, checksum engines, encoding
//! and the decoder, on arbitrary descriptions and bytes, built with `arbitrary`.
//!
//! Invariants:
//! - no panic: any framing and checksum description, checked or not, any bytes, any
//!   chunking, gaps between chunks;
//! - a body is never empty nor over the maximum length; `frames` counts the bodies given;
//! - chunking does not matter: the stream pushed in the fuzzer's chunks gives the same bodies
//!   and counters as pushed whole;
//! - the decoder's counters add up: every frame is matched, a bad checksum or unmatched;
//! - round trip: with a description that passes its checks, a message that encodes is
//!   received as exactly one frame, whose checksum checks and whose message is the one sent
//!   (with the length field in its place for a length-prefixed framing);
//! - the checksum engines agree with themselves: a value encoded decodes back, and a body
//!   with its checksum inserted verifies.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use railgate_adapters::line::checksum::{
    compute, decode_value, encode_value, insert, strip, verify,
};
use railgate_adapters::line::command::encode;
use railgate_adapters::line::{
    Action, BinaryField, BinaryType, ByteMatch, Checksum, ChecksumAlgorithm, ChecksumEncoding,
    Decoded, Decoder, Endianness, EscapeRule, EscapeTransform, Framer, Framing, LengthField,
    LineProtocol, Matcher, Rule, TextTemplate,
};

#[derive(Arbitrary, Debug)]
struct Input {
    framing: RawFraming,
    max_len: u8,
    checksum: Option<RawChecksum>,
    chunks: Vec<Vec<u8>>,
    gap_after: Option<u8>,
    message: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum RawFraming {
    Delimiter(Vec<u8>),
    Fixed(u8, Vec<u8>),
    StartEnd(Vec<u8>, Vec<u8>, Option<(u8, Option<u8>, Vec<u8>)>),
    Length(Vec<u8>, u8, u8, bool, i8, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct RawChecksum {
    algorithm: u8,
    encoding: u8,
    start: u8,
    end_from_end: u8,
    field_from_end: u8,
}

fn short(v: &[u8]) -> Vec<u8> {
    v.iter().take(4).copied().collect()
}

fn endianness(big: bool) -> Endianness {
    if big {
        Endianness::Big
    } else {
        Endianness::Little
    }
}

fn framing(raw: &RawFraming) -> Framing {
    match raw {
        RawFraming::Delimiter(d) => Framing::Delimiter {
            delimiter: short(d),
        },
        RawFraming::Fixed(n, start) => Framing::FixedLength {
            length: usize::from(*n),
            start: short(start),
        },
        RawFraming::StartEnd(start, end, escape) => Framing::StartEnd {
            start: short(start),
            end: short(end),
            escape: escape.as_ref().map(|(escape, xor, also)| EscapeRule {
                escape: *escape,
                transform: match xor {
                    Some(mask) => EscapeTransform::Xor(*mask),
                    None => EscapeTransform::Literal,
                },
                also: short(also),
            }),
        },
        RawFraming::Length(start, offset, width, big, adjust, end) => Framing::LengthPrefixed {
            start: short(start),
            length: LengthField {
                offset: usize::from(*offset % 8),
                width: *width % 6,
                endianness: endianness(*big),
                adjust: i64::from(*adjust),
            },
            end: short(end),
        },
    }
}

fn checksum(raw: &RawChecksum) -> Checksum {
    let all = ChecksumAlgorithm::ALL;
    Checksum {
        algorithm: all[usize::from(raw.algorithm) % all.len()],
        encoding: match raw.encoding % 3 {
            0 => ChecksumEncoding::HexUpper,
            1 => ChecksumEncoding::Binary(Endianness::Big),
            _ => ChecksumEncoding::Binary(Endianness::Little),
        },
        start: usize::from(raw.start % 16),
        end_from_end: usize::from(raw.end_from_end % 16),
        field_from_end: usize::from(raw.field_from_end % 16),
    }
}

fn rules() -> Vec<Rule> {
    let point = TextTemplate::parse("p/{a}").unwrap();
    vec![
        Rule {
            name: "text".into(),
            matcher: Matcher::Text(regex::bytes::Regex::new(r"^(?P<a>\d{1,3})(?P<b>.*)$").unwrap()),
            actions: vec![
                Action::InputState {
                    point: point.clone(),
                    state: true,
                },
                Action::Value {
                    point: point.clone(),
                    field: "b".into(),
                    scale: 0.5,
                    offset: 1.0,
                },
            ],
        },
        Rule {
            name: "binary".into(),
            matcher: Matcher::Binary {
                bytes: vec![ByteMatch {
                    offset: 0,
                    value: 0x10,
                    mask: 0xF0,
                }],
                length: None,
                fields: vec![
                    BinaryField {
                        name: "a".into(),
                        offset: 1,
                        kind: BinaryType::I16,
                        endianness: Endianness::Little,
                    },
                    BinaryField {
                        name: "bits".into(),
                        offset: 0,
                        kind: BinaryType::Bits {
                            width: 4,
                            shift: 3,
                            bits: 17,
                        },
                        endianness: Endianness::Big,
                    },
                ],
            },
            actions: vec![Action::Event {
                topic: TextTemplate::parse("e/{a}").unwrap(),
                items: vec![],
            }],
        },
    ]
}

fuzz_target!(|input: Input| {
    let framing = framing(&input.framing);
    let max_len = usize::from(input.max_len);
    let checksum = input.checksum.as_ref().map(checksum);
    let chunks: Vec<&[u8]> = input.chunks.iter().take(64).map(|c| c.as_slice()).collect();
    let stream: Vec<u8> = chunks.concat();

    // Framer: chunking does not matter; bodies are never empty or over the limit.
    let mut whole = Framer::new(framing.clone(), max_len);
    let bodies = whole.push(&stream);
    let mut chunked = Framer::new(framing.clone(), max_len);
    let mut pieces = Vec::new();
    for chunk in &chunks {
        pieces.extend(chunked.push(chunk));
    }
    assert_eq!(bodies, pieces, "chunking changed the frames");
    assert_eq!(whole.counters(), chunked.counters());
    assert_eq!(whole.counters().frames, bodies.len() as u64);
    for body in &bodies {
        assert!(
            !body.is_empty() && body.len() <= max_len,
            "{body:?} over {max_len}"
        );
    }
    // Gaps anywhere never panic.
    if let Some(at) = input.gap_after {
        let mut framer = Framer::new(framing.clone(), max_len);
        for (i, chunk) in chunks.iter().enumerate() {
            framer.push(chunk);
            if i % (usize::from(at) + 1) == 0 {
                framer.gap();
            }
        }
    }

    // Checksum engines on every body and the message.
    if let Some(checksum) = &checksum {
        for bytes in bodies.iter().chain([&input.message]) {
            let _ = verify(checksum, bytes);
            let _ = strip(checksum, bytes);
            let value = compute(checksum.algorithm, bytes);
            let field = encode_value(checksum.algorithm, checksum.encoding, value);
            assert_eq!(field.len(), checksum.field_width());
            assert_eq!(
                decode_value(checksum.algorithm, checksum.encoding, &field),
                Some(value)
            );
            if let Some(body) = insert(checksum, bytes) {
                if checksum.check().is_ok() {
                    assert_eq!(verify(checksum, &body), Ok(()), "inserted checksum fails");
                    assert_eq!(strip(checksum, &body), *bytes);
                }
            }
        }
    }

    // Decoder: counters add up.
    let protocol = LineProtocol {
        name: "fuzz".into(),
        framing: framing.clone(),
        max_frame: max_len,
        checksum: checksum.clone(),
        rules: rules(),
        commands: vec![],
        supervision: None,
    };
    let mut decoder = Decoder::new(&protocol);
    let decoded = decoder.push(&stream);
    let c = decoder.counters();
    let matched = decoded
        .iter()
        .filter(|d| matches!(d, Decoded::Matched { .. }))
        .count() as u64;
    assert_eq!(c.frames, decoded.len() as u64);
    assert_eq!(c.frames, matched + c.bad_checksum + c.unmatched);

    // Round trip under a description that passes its checks.
    let checked = protocol.check().is_ok();
    if !checked {
        return;
    }
    let Ok(wire) = encode(&framing, checksum.as_ref(), &input.message, max_len) else {
        return;
    };
    let mut framer = Framer::new(framing.clone(), max_len);
    let received = framer.push(&wire);
    assert_eq!(
        received.len(),
        1,
        "{framing:?} {checksum:?} sent {wire:02X?} got {received:02X?}"
    );
    let body = &received[0];
    let message = match &checksum {
        Some(checksum) => {
            assert_eq!(verify(checksum, body), Ok(()), "sent {wire:02X?}");
            strip(checksum, body)
        }
        None => body.clone(),
    };
    let mut expected = input.message.clone();
    if let Framing::LengthPrefixed { length, .. } = &framing {
        let width = usize::from(length.width);
        // The length field's place in the message: its offset in the body, less the
        // checksum field's width when that field comes before it.
        let before = checksum
            .as_ref()
            .is_some_and(|c| body.len() - c.field_from_end + c.field_width() <= length.offset);
        let at = length.offset
            - if before {
                checksum.as_ref().unwrap().field_width()
            } else {
                0
            };
        assert!(message.len() >= at + width);
        expected.splice(at..at, message[at..at + width].iter().copied());
    }
    assert_eq!(message, expected, "sent {wire:02X?}");
});
