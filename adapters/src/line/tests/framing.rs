//! The framer: every chunking, garbage, blank lines, escapes, oversize frames, resync.

use crate::line::framer::Framer;
use crate::line::spec::{Endianness, EscapeRule, EscapeTransform, Framing, LengthField};

use super::b;

fn crlf() -> Framing {
    Framing::Delimiter {
        delimiter: b("\r\n"),
    }
}

/// Pushes `stream` split at every pair of positions; every split gives `expected`.
fn every_split(framing: &Framing, max: usize, stream: &[u8], expected: &[Vec<u8>]) {
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let mut framer = Framer::new(framing.clone(), max);
            let mut got = framer.push(&stream[..i]);
            got.extend(framer.push(&stream[i..j]));
            got.extend(framer.push(&stream[j..]));
            assert_eq!(got, expected, "split at {i}, {j}");
        }
    }
    // And byte by byte.
    let mut framer = Framer::new(framing.clone(), max);
    let got: Vec<Vec<u8>> = stream
        .iter()
        .flat_map(|byte| framer.push(&[*byte]))
        .collect();
    assert_eq!(got, expected, "byte by byte");
}

#[test]
fn line_delimiter_any_chunking() {
    every_split(
        &crlf(),
        64,
        b"60900130\r\n61000128\r\n\r\n6543D2\r\n",
        &[b("60900130"), b("61000128"), b("6543D2")],
    );
}

#[test]
fn line_delimiter_keeps_a_lone_cr_and_counts() {
    let mut framer = Framer::new(crlf(), 64);
    assert_eq!(framer.push(b"ab\rc\r\n\r\n"), [b("ab\rc")]);
    let c = framer.counters();
    assert_eq!((c.frames, c.oversize, c.garbage), (1, 0, 0));
}

#[test]
fn line_delimiter_oversize_is_dropped_and_the_next_frame_is_whole() {
    let mut framer = Framer::new(crlf(), 8);
    let mut stream = vec![b'x'; 100];
    stream.extend_from_slice(b"\r\n12345678\r\n123456789\r\nok\r\n");
    // Split mid-way through the long line too.
    let mut got = framer.push(&stream[..50]);
    got.extend(framer.push(&stream[50..]));
    assert_eq!(got, [b("12345678"), b("ok")]);
    let c = framer.counters();
    assert_eq!((c.frames, c.oversize), (2, 2));
}

#[test]
fn line_start_end_skips_garbage_and_unescapes_dle() {
    // DLE STX … DLE ETX, DLE doubled inside: 10 02 | 41 10 10 42 03 02 | 10 03
    let framing = Framing::StartEnd {
        start: vec![0x10, 0x02],
        end: vec![0x10, 0x03],
        escape: Some(EscapeRule {
            escape: 0x10,
            transform: EscapeTransform::Literal,
            also: vec![],
        }),
    };
    framing.check(64).unwrap();
    let mut stream = vec![0xFF, 0x03, 0x10, 0x03, 0x55];
    stream.extend_from_slice(&[0x10, 0x02, 0x41, 0x10, 0x10, 0x42, 0x03, 0x02, 0x10, 0x03]);
    stream.extend_from_slice(&[0x10, 0x02, 0x43, 0x10, 0x03]);
    every_split(
        &framing,
        64,
        &stream,
        &[vec![0x41, 0x10, 0x42, 0x03, 0x02], vec![0x43]],
    );
    let mut framer = Framer::new(framing, 64);
    framer.push(&stream);
    assert_eq!(framer.counters().garbage, 5);
}

#[test]
fn line_start_end_xor_escape_and_restart_on_unescaped_start() {
    // HDLC-like: 7E … 7E with 7D escape and XOR 0x20. A frame cut short by a new start
    // marker is garbage; the new frame is whole.
    let framing = Framing::StartEnd {
        start: vec![0x7E],
        end: vec![0x0D],
        escape: Some(EscapeRule {
            escape: 0x7D,
            transform: EscapeTransform::Xor(0x20),
            also: vec![],
        }),
    };
    let stream = [
        0x7E, 0x01, 0x02, 0x7E, 0x03, 0x7D, 0x5E, 0x7D, 0x2D, 0x7D, 0x5D, 0x0D,
    ];
    every_split(&framing, 64, &stream, &[vec![0x03, 0x7E, 0x0D, 0x7D]]);
    let mut framer = Framer::new(framing, 64);
    framer.push(&stream);
    assert_eq!(framer.counters().garbage, 2);
}

#[test]
fn line_start_end_without_escape_keeps_start_bytes_as_data() {
    let framing = Framing::StartEnd {
        start: b("$"),
        end: b("\r\n"),
        escape: None,
    };
    every_split(
        &framing,
        64,
        b"junk$A$B*12\r\nmore$C\r\n",
        &[b("A$B*12"), b("C")],
    );
}

#[test]
fn line_start_end_oversize_resumes_at_the_next_frame() {
    let framing = Framing::StartEnd {
        start: vec![0x02],
        end: vec![0x03],
        escape: None,
    };
    let mut stream = vec![0x02];
    stream.extend(std::iter::repeat_n(0x41, 40));
    stream.extend_from_slice(&[0x03, 0x02, 0x42, 0x03]);
    every_split(&framing, 16, &stream, &[vec![0x42]]);
    let mut framer = Framer::new(framing, 16);
    framer.push(&stream);
    assert_eq!(framer.counters().oversize, 1);
    assert_eq!(framer.counters().frames, 1);
}

#[test]
fn line_fixed_length_resynchronises_on_its_start_marker() {
    let framing = Framing::FixedLength {
        length: 4,
        start: vec![0xA5],
    };
    let stream = [0x00, 0x11, 0xA5, 1, 2, 3, 0x99, 0xA5, 4, 5, 6];
    every_split(&framing, 16, &stream, &[vec![1, 2, 3], vec![4, 5, 6]]);
}

#[test]
fn line_fixed_length_without_a_marker_resyncs_on_a_gap() {
    let framing = Framing::FixedLength {
        length: 3,
        start: vec![],
    };
    let mut framer = Framer::new(framing, 16);
    assert_eq!(framer.push(&[1, 2, 3, 4]), [vec![1, 2, 3]]);
    framer.gap(); // the adapter saw the line go quiet: the stray 4 is garbage
    assert_eq!(framer.push(&[5, 6, 7]), [vec![5, 6, 7]]);
    assert_eq!(framer.counters().garbage, 1);
}

fn stx_len_etx() -> Framing {
    Framing::LengthPrefixed {
        start: vec![0x02],
        length: LengthField {
            offset: 0,
            width: 1,
            endianness: Endianness::Big,
            adjust: 3,
        },
        end: vec![0x03],
    }
}

#[test]
fn line_length_prefixed_takes_markers_inside_the_payload() {
    // Payload 20 02 03 contains both marker bytes; the length says where the frame ends.
    let frame = [0x02, 0x03, 0x20, 0x02, 0x03, 0x40, 0xCB, 0x03];
    let mut stream = vec![0x03, 0x03];
    stream.extend_from_slice(&frame);
    stream.extend_from_slice(&frame);
    let body = frame[1..7].to_vec();
    every_split(&stx_len_etx(), 32, &stream, &[body.clone(), body]);
}

#[test]
fn line_length_prefixed_resyncs_after_a_broken_frame() {
    // A start byte followed by a length that puts the end marker elsewhere, then a frame.
    let mut stream = vec![0x02, 0x01, 0x11];
    stream.extend_from_slice(&[0x02, 0x01, 0x7F, 0xAA, 0xBB, 0x03]);
    every_split(&stx_len_etx(), 32, &stream, &[vec![0x01, 0x7F, 0xAA, 0xBB]]);
    let mut framer = Framer::new(stx_len_etx(), 32);
    framer.push(&stream);
    assert_eq!(framer.counters().frames, 1);
    assert_eq!(framer.counters().garbage, 3);
}

#[test]
fn line_length_prefixed_oversize_length_is_counted() {
    let mut framer = Framer::new(stx_len_etx(), 8);
    let got = framer.push(&[0x02, 0xF0, 0x02, 0x00, 0xAA, 0xBB, 0x03]);
    assert_eq!(got, [vec![0x00, 0xAA, 0xBB]]);
    assert_eq!(framer.counters().oversize, 1);
}

#[test]
fn line_framing_descriptions_are_checked() {
    assert!(Framing::Delimiter { delimiter: vec![] }.check(10).is_err());
    assert!(crlf().check(0).is_err());
    assert!(
        Framing::FixedLength {
            length: 1,
            start: vec![1]
        }
        .check(10)
        .is_err()
    );
    assert!(
        Framing::FixedLength {
            length: 20,
            start: vec![]
        }
        .check(10)
        .is_err()
    );
    let bad_escape = Framing::StartEnd {
        start: vec![0x02],
        end: vec![0x10],
        escape: Some(EscapeRule {
            escape: 0x10,
            transform: EscapeTransform::Literal,
            also: vec![],
        }),
    };
    assert!(bad_escape.check(10).is_err());
    let mut wide = stx_len_etx();
    if let Framing::LengthPrefixed { length, .. } = &mut wide {
        length.width = 3;
    }
    assert!(wide.check(10).is_err());
    // Unchecked descriptions never panic.
    for framing in [
        Framing::Delimiter { delimiter: vec![] },
        Framing::FixedLength {
            length: 0,
            start: vec![],
        },
        bad_escape,
        wide,
    ] {
        let mut framer = Framer::new(framing, 0);
        framer.push(&[0x02, 0x10, 0x10, 0x03, 0x00, 0xFF]);
        framer.gap();
    }
}

#[test]
fn line_one_flag_for_both_ends_is_shared_between_frames() {
    // HDLC: 7E a 7E b 7E 7E c 7E — the closing flag opens the next frame, two flags in a
    // row are an empty frame (skipped).
    let framing = Framing::StartEnd {
        start: vec![0x7E],
        end: vec![0x7E],
        escape: Some(EscapeRule {
            escape: 0x7D,
            transform: EscapeTransform::Xor(0x20),
            also: vec![],
        }),
    };
    framing.check(16).unwrap();
    every_split(
        &framing,
        16,
        &[
            0x00, 0x7E, 0x0A, 0x7E, 0x0B, 0x7D, 0x5E, 0x7E, 0x7E, 0x0C, 0x7E,
        ],
        &[vec![0x0A], vec![0x0B, 0x7E], vec![0x0C]],
    );
}

#[test]
fn line_encoding_refuses_what_would_be_cut_early() {
    use crate::line::command::{EncodeError, encode};
    let lf2 = Framing::Delimiter {
        delimiter: b"\n\n".to_vec(),
    };
    // "a\n" + "\n\n" would be read as "a" then "\n".
    assert_eq!(
        encode(&lf2, None, b"a\n", 16),
        Err(EncodeError::Unescapable("delimiter"))
    );
    assert!(encode(&lf2, None, b"", 16).is_err(), "an empty frame");
    // DLE ETX end with ETX in `also`: the escaped ETX would read as the end.
    let dle = Framing::StartEnd {
        start: vec![0x10, 0x02],
        end: vec![0x10, 0x03],
        escape: Some(EscapeRule {
            escape: 0x10,
            transform: EscapeTransform::Literal,
            also: vec![0x03],
        }),
    };
    assert_eq!(
        encode(&dle, None, &[0x03], 16),
        Err(EncodeError::Unescapable("marker"))
    );
}

#[test]
fn line_fuzz_findings_stay_fixed() {
    // A length field of width 0 (unchecked) once looped forever on an empty buffer.
    let zero_width = Framing::LengthPrefixed {
        start: vec![],
        length: LengthField {
            offset: 96,
            width: 0,
            endianness: Endianness::Little,
            adjust: 0,
        },
        end: vec![],
    };
    let mut framer = Framer::new(zero_width, 0);
    assert!(framer.push(&[]).is_empty());
    assert!(framer.push(&[1, 2, 3]).is_empty());
    // With an escape rule, a start marker inside the end marker would restart every frame
    // at its end: refused.
    let start_in_end = Framing::StartEnd {
        start: vec![0xB1],
        end: vec![0xB1, 0xB1],
        escape: Some(EscapeRule {
            escape: 0xFF,
            transform: EscapeTransform::Literal,
            also: vec![],
        }),
    };
    assert!(start_in_end.check(16).is_err());
    // A checksum counted from the end landing on a length field counted from the start:
    // the encoder refuses rather than send a frame that reads back wrong.
    let overlapping = Framing::LengthPrefixed {
        start: vec![0x50, 0xFF],
        length: LengthField {
            offset: 0,
            width: 4,
            endianness: Endianness::Little,
            adjust: 6,
        },
        end: vec![],
    };
    let checksum = crate::line::Checksum {
        algorithm: crate::line::ChecksumAlgorithm::Sum8Negated,
        encoding: crate::line::ChecksumEncoding::HexUpper,
        start: 3,
        end_from_end: 3,
        field_from_end: 3,
    };
    assert!(crate::line::command::encode(&overlapping, Some(&checksum), &[], 16).is_err());
}
