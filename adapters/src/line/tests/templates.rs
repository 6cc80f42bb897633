//! Text templates, and encoding under each framing (round trips through the framer).

use crate::line::Framer;
use crate::line::checksum::verify;
use crate::line::command::{EncodeError, encode};
use crate::line::spec::{
    Checksum, ChecksumAlgorithm, ChecksumEncoding, Endianness, EscapeRule, EscapeTransform, Framing,
};
use crate::line::text_template::{Pad, TextPart, TextTemplate};

#[test]
fn line_template_syntax() {
    let template = TextTemplate::parse("040{partition:1}{code:<6}{{x}}").unwrap();
    assert_eq!(
        template.parts,
        [
            TextPart::Literal("040".into()),
            TextPart::Placeholder {
                name: "partition".into(),
                pad: Pad::Left(1)
            },
            TextPart::Placeholder {
                name: "code".into(),
                pad: Pad::Right(6)
            },
            TextPart::Literal("{x}".into()),
        ]
    );
    assert_eq!(template.names().collect::<Vec<_>>(), ["partition", "code"]);
    let lookup = |name: &str| match name {
        "partition" => Some("2".to_owned()),
        "code" => Some("1234".to_owned()),
        _ => None,
    };
    assert_eq!(template.render(lookup).unwrap(), "0402123400{x}");
    assert_eq!(
        TextTemplate::parse("zone{zone:3}")
            .unwrap()
            .render(|_| Some("7".into()))
            .unwrap(),
        "zone007"
    );
    for bad in ["{", "}", "{}", "{a:x}", "a{b"] {
        assert!(TextTemplate::parse(bad).is_err(), "{bad:?}");
    }
    assert!(template.render(|_| None).is_err());
}

/// Encodes `message`, frames it back, and checks that the body's message is `message`
/// (with the length field in front of a length-prefixed one: rules see it).
fn round_trip(framing: Framing, checksum: Option<Checksum>, message: &[u8]) -> Vec<u8> {
    let wire = encode(&framing, checksum.as_ref(), message, 64).unwrap();
    let mut framer = Framer::new(framing.clone(), 64);
    let bodies = framer.push(&wire);
    let mut expected = message.to_vec();
    if let Framing::LengthPrefixed { length, .. } = &framing {
        let width = usize::from(length.width);
        let value = bodies[0].len() as i64 - length.adjust;
        let bytes = match length.endianness {
            Endianness::Big => value.to_be_bytes()[8 - width..].to_vec(),
            Endianness::Little => value.to_le_bytes()[..width].to_vec(),
        };
        expected.splice(length.offset..length.offset, bytes);
    }
    let message = expected.as_slice();
    assert_eq!(bodies.len(), 1, "{wire:02X?}");
    if let Some(checksum) = &checksum {
        assert_eq!(verify(checksum, &bodies[0]), Ok(()));
        assert_eq!(
            crate::line::checksum::strip(checksum, &bodies[0]),
            message,
            "{wire:02X?}"
        );
    } else {
        assert_eq!(bodies[0], message);
    }
    wire
}

#[test]
fn line_encode_round_trips_under_every_framing() {
    let crc = Checksum::trailing(
        ChecksumAlgorithm::Crc16CcittFalse,
        ChecksumEncoding::Binary(Endianness::Big),
    );
    // DLE stuffing: DLE STX … DLE ETX, a data DLE doubled.
    let wire = round_trip(
        Framing::StartEnd {
            start: vec![0x10, 0x02],
            end: vec![0x10, 0x03],
            escape: Some(EscapeRule {
                escape: 0x10,
                transform: EscapeTransform::Literal,
                also: vec![],
            }),
        },
        None,
        &[0x01, 0x10, 0x03],
    );
    assert_eq!(wire, [0x10, 0x02, 0x01, 0x10, 0x10, 0x03, 0x10, 0x03]);
    // XOR escaping of both markers.
    let wire = round_trip(
        Framing::StartEnd {
            start: vec![0x7E],
            end: vec![0x7F],
            escape: Some(EscapeRule {
                escape: 0x7D,
                transform: EscapeTransform::Xor(0x20),
                also: vec![0x11],
            }),
        },
        Some(crc.clone()),
        &[0x7E, 0x7F, 0x7D, 0x11, 0x00],
    );
    assert_eq!(
        wire[..9],
        [0x7E, 0x7D, 0x5E, 0x7D, 0x5F, 0x7D, 0x5D, 0x7D, 0x31]
    );
    round_trip(
        Framing::FixedLength {
            length: 6,
            start: vec![0xA5],
        },
        Some(Checksum::trailing(
            ChecksumAlgorithm::Xor8,
            ChecksumEncoding::Binary(Endianness::Big),
        )),
        &[1, 2, 3, 4],
    );
    round_trip(
        Framing::Delimiter {
            delimiter: b"\r".to_vec(),
        },
        Some(Checksum::trailing(
            ChecksumAlgorithm::Crc8Smbus,
            ChecksumEncoding::HexUpper,
        )),
        b"#01RD",
    );
    round_trip(
        Framing::LengthPrefixed {
            start: vec![0xAA, 0x55],
            length: crate::line::LengthField {
                offset: 1,
                width: 2,
                endianness: Endianness::Little,
                adjust: 0,
            },
            end: vec![],
        },
        Some(crc),
        &[0x42, 0x02, 0x03],
    );
}

#[test]
fn line_encode_refusals() {
    let crlf = Framing::Delimiter {
        delimiter: b"\r\n".to_vec(),
    };
    assert_eq!(
        encode(&crlf, None, b"a\r\nb", 64),
        Err(EncodeError::Unescapable("delimiter"))
    );
    assert!(matches!(
        encode(&crlf, None, &[b'x'; 65], 64),
        Err(EncodeError::Length(_))
    ));
    let fixed = Framing::FixedLength {
        length: 4,
        start: vec![],
    };
    assert!(matches!(
        encode(&fixed, None, b"abc", 64),
        Err(EncodeError::Length(_))
    ));
    assert_eq!(encode(&fixed, None, b"abcd", 64).unwrap(), b"abcd");
}

#[test]
fn line_encode_places_a_checksum_before_the_length_field() {
    // Length at body offset 5, an XOR checksum 3 bytes from the end covering bytes 0..4:
    // body = 01 02 03 04 | cs | len | 05.
    let framing = Framing::LengthPrefixed {
        start: vec![0xAA],
        length: crate::line::LengthField {
            offset: 5,
            width: 1,
            endianness: Endianness::Big,
            adjust: 0,
        },
        end: vec![],
    };
    let checksum = Checksum {
        algorithm: ChecksumAlgorithm::Xor8,
        encoding: ChecksumEncoding::Binary(Endianness::Big),
        start: 0,
        end_from_end: 3,
        field_from_end: 3,
    };
    checksum.check().unwrap();
    let wire = encode(&framing, Some(&checksum), &[1, 2, 3, 4, 5], 16).unwrap();
    assert_eq!(wire, [0xAA, 1, 2, 3, 4, 0x04, 7, 5]);
    let bodies = Framer::new(framing.clone(), 16).push(&wire);
    assert_eq!(bodies, [vec![1, 2, 3, 4, 0x04, 7, 5]]);
    assert_eq!(verify(&checksum, &bodies[0]), Ok(()));
    // A message of a length that puts both fields on one byte is refused, and so is one
    // too short to reach the length field.
    for message in [&[1, 2, 3, 4, 5, 6][..], &[1, 2, 3]] {
        assert_eq!(
            encode(&framing, Some(&checksum), message, 16),
            Err(EncodeError::Short)
        );
    }
}
