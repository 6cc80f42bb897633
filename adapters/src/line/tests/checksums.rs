//! Every algorithm's standard check value, the IT-100 text checksum, and the span rules.

use crate::line::checksum::{
    ChecksumError, compute, decode_value, encode_value, insert, strip, verify,
};
use crate::line::spec::{Checksum, ChecksumAlgorithm as A, ChecksumEncoding as E, Endianness};

#[test]
fn line_check_values_of_123456789() {
    // CRC values are the catalogue's `check` (Greg Cook's CRC RevEng catalogue); the sums
    // are worked by hand: '1'+…+'9' = 0x1DD, XOR of '1'…'9' = 0x31.
    let cases = [
        (A::Sum8, 0xDD),
        (A::Sum8Negated, 0x23),
        (A::Xor8, 0x31),
        (A::Crc8Smbus, 0xF4),
        (A::Crc8Maxim, 0xA1),
        (A::Crc8Autosar, 0xDF),
        (A::Crc16Modbus, 0x4B37),
        (A::Crc16CcittFalse, 0x29B1),
        (A::Crc16Xmodem, 0x31C3),
        (A::Crc16Kermit, 0x2189),
    ];
    assert_eq!(cases.len(), A::ALL.len(), "every algorithm has a vector");
    for (algorithm, check) in cases {
        assert_eq!(compute(algorithm, b"123456789"), check, "{algorithm}");
    }
}

#[test]
fn line_sum8_negated_makes_the_total_zero() {
    let data = b"any bytes at all";
    let neg = compute(A::Sum8Negated, data) as u8;
    let total = data.iter().fold(neg, |acc, b| acc.wrapping_add(*b));
    assert_eq!(total, 0);
}

#[test]
fn line_it100_frames_from_the_guide_check() {
    // DSC IT-100 Developer's Guide §2.4: checksum = 8-bit sum of the command and data
    // characters, as two uppercase hex digits, then CR LF. "00090" (poll) and "00191"
    // (status request) are quoted by integrations of the IT-100/PC5401, "6543D2" (654
    // partition in alarm, partition 3) by an IT-100 stream parser's tests; the others are
    // computed by the rule.
    let cs = Checksum::sum8_hex_text();
    for body in [
        "00090",
        "00191",
        "6543D2",
        "6501CC",
        "60900130",
        "0401123400EF",
    ] {
        assert_eq!(verify(&cs, body.as_bytes()), Ok(()), "{body}");
    }
    // Received lowercase digits are accepted; a wrong digit is a mismatch.
    assert_eq!(verify(&cs, b"6543d2"), Ok(()));
    assert_eq!(
        verify(&cs, b"6543D3"),
        Err(ChecksumError::Mismatch {
            found: 0xD3,
            computed: 0xD2
        })
    );
    assert_eq!(
        verify(&cs, b"6543G2"),
        Err(ChecksumError::Unreadable(E::HexUpper))
    );
    assert_eq!(verify(&cs, b"D"), Err(ChecksumError::Short));
    assert_eq!(verify(&cs, b""), Err(ChecksumError::Short));
    assert_eq!(strip(&cs, b"6543D2"), b"6543");
    assert_eq!(insert(&cs, b"654").unwrap(), b"6549F");
}

#[test]
fn line_encodings_and_byte_order() {
    assert_eq!(
        encode_value(A::Crc16Modbus, E::Binary(Endianness::Little), 0x4B37),
        [0x37, 0x4B]
    );
    assert_eq!(
        encode_value(A::Crc16Modbus, E::Binary(Endianness::Big), 0x4B37),
        [0x4B, 0x37]
    );
    assert_eq!(encode_value(A::Crc16Xmodem, E::HexUpper, 0x31C3), b"31C3");
    assert_eq!(
        encode_value(A::Xor8, E::Binary(Endianness::Big), 0x31),
        [0x31]
    );
    for algorithm in A::ALL {
        for encoding in [
            E::HexUpper,
            E::Binary(Endianness::Big),
            E::Binary(Endianness::Little),
        ] {
            let value = compute(algorithm, b"round trip");
            let field = encode_value(algorithm, encoding, value);
            assert_eq!(
                decode_value(algorithm, encoding, &field),
                Some(value),
                "{algorithm} {encoding:?}"
            );
        }
    }
}

#[test]
fn line_span_and_position_are_honoured() {
    // A checksum covering bytes 1.. (not a leading address byte), followed by one trailer
    // byte that it does not cover: body = [addr, data…, crc_lo, crc_hi, trailer].
    let cs = Checksum {
        algorithm: A::Crc16Modbus,
        encoding: E::Binary(Endianness::Little),
        start: 1,
        end_from_end: 3,
        field_from_end: 3,
    };
    cs.check().unwrap();
    let body = insert(
        &cs,
        &[
            0xAA, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', 0xEE,
        ],
    )
    .unwrap();
    assert_eq!(
        body,
        [
            0xAA, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', 0x37, 0x4B, 0xEE
        ]
    );
    assert_eq!(verify(&cs, &body), Ok(()));
    // The address and the trailer are outside the span: changing them keeps it valid.
    let mut other = body.clone();
    other[0] = 0x00;
    other[12] = 0x00;
    assert_eq!(verify(&cs, &other), Ok(()));
    other[5] ^= 1;
    assert!(matches!(
        verify(&cs, &other),
        Err(ChecksumError::Mismatch { .. })
    ));
    assert_eq!(strip(&cs, &body)[10..], [0xEE]);
}

#[test]
fn line_overlapping_checksum_descriptions_are_refused() {
    let mut cs = Checksum::trailing(A::Crc16Modbus, E::Binary(Endianness::Little));
    assert_eq!(cs.check(), Ok(()));
    cs.end_from_end = 1; // the span would cover the field's first byte
    assert!(cs.check().is_err());
    cs.end_from_end = 2;
    cs.field_from_end = 1; // the field would run past the end of the body
    assert!(cs.check().is_err());
    // Unchecked, it still never panics.
    assert!(verify(&cs, b"abc").is_err());
    assert!(verify(&cs, b"").is_err());
}
