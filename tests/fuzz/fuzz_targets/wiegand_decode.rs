//! Wiegand (`railgate_adapters::wiegand`): the decoder on arbitrary frames in every format,
//! `Bits` from arbitrary packed bytes, the edge framer on arbitrary edge streams and polls,
//! and the converter line parser on arbitrary lines (all built with `arbitrary`).
//!
//! Invariants:
//! - no panic anywhere;
//! - a decoded card keeps its frame, and encoding its fields gives the frame back (every
//!   format but raw); raw decodes everything; a frame of the wrong length never decodes;
//! - `Bits::from_bytes` then `to_bytes` gives the bytes back with the padding bits cleared;
//! - the framer delivers frames of `min_bits..=128` bits with `first_ns <= last_ns`, its
//!   counters match what it returned, and every edge fed ends up in exactly one frame or
//!   dropped frame once flushed;
//! - a converter line that parses has the configured length, and with stripped parity the
//!   recomputed frame always decodes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use railgate_adapters::wiegand::ascii::{AsciiConfig, Encoding, parse_line};
use railgate_adapters::wiegand::edges::{Edge, Framed, Framer, FramerConfig, Line};
use railgate_adapters::wiegand::{Bits, Format, WiegandError, decode, encode};

#[derive(Arbitrary, Debug)]
struct Input {
    format: u8,
    packed: Vec<u8>,
    bit_count: u8,
    gap_us: u16,
    min_interval_us: u16,
    min_bits: u8,
    steps: Vec<Step>,
    line: String,
    hex: bool,
    includes_parity: bool,
    line_bits: u8,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// An edge `delta_ns` after the previous time.
    Edge { d1: bool, delta_ns: u32 },
    /// An edge at an absolute time (may go backwards).
    EdgeAt { d1: bool, ns: u64 },
    /// A poll `delta_ns` after the previous time.
    Poll { delta_ns: u32 },
    /// A poll at the framer's deadline.
    PollDeadline,
}

fn format(n: u8) -> Format {
    Format::ALL[usize::from(n) % Format::ALL.len()]
}

fn check_decode(bits: &Bits) {
    for f in Format::ALL {
        match decode(bits, f) {
            Ok(card) => {
                assert_eq!(card.bits, *bits);
                assert_eq!(card.format, f);
                if f == Format::Raw {
                    assert_eq!(u128::from(card.number), bits.value() & u128::from(u64::MAX));
                } else {
                    assert_eq!(Some(bits.len()), f.bits());
                    assert_eq!(encode(f, card.facility, card.number), Ok(*bits), "{f}");
                }
            }
            Err(WiegandError::WrongLength { expected, got, .. }) => {
                assert_ne!(expected, got);
                assert_eq!(got, bits.len());
            }
            Err(WiegandError::Parity { .. }) => assert_eq!(Some(bits.len()), f.bits()),
        }
    }
}

fn check_framer(input: &Input) {
    let config = FramerConfig {
        frame_gap_ns: u64::from(input.gap_us) * 1_000,
        min_interval_ns: u64::from(input.min_interval_us) * 1_000,
        min_bits: usize::from(input.min_bits % 140),
    };
    let mut framer = Framer::new(config);
    let mut now = 0u64;
    let mut fed = 0usize;
    let mut out: Vec<Framed> = Vec::new();
    for step in input.steps.iter().take(2048) {
        let got = match *step {
            Step::Edge { d1, delta_ns } => {
                now = now.saturating_add(u64::from(delta_ns));
                fed += 1;
                framer.edge(edge(d1, now))
            }
            Step::EdgeAt { d1, ns } => {
                now = ns;
                fed += 1;
                framer.edge(edge(d1, ns))
            }
            Step::Poll { delta_ns } => {
                now = now.saturating_add(u64::from(delta_ns));
                framer.poll(now)
            }
            Step::PollDeadline => match framer.deadline() {
                Some(d) => framer.poll(d),
                None => framer.poll(now),
            },
        };
        out.extend(got);
    }
    out.extend(framer.flush());
    assert_eq!(framer.deadline(), None);
    let (mut frames, mut dropped, mut edges) = (0u64, 0u64, 0usize);
    for f in &out {
        match f {
            Framed::Frame(frame) => {
                frames += 1;
                edges += frame.bits.len();
                assert!(frame.bits.len() >= config.min_bits && frame.bits.len() <= Bits::MAX);
                assert!(frame.first_ns <= frame.last_ns);
                check_decode(&frame.bits);
            }
            Framed::Dropped(d) => {
                dropped += 1;
                edges += d.edges;
                assert!(d.first_ns <= d.last_ns);
            }
        }
    }
    let stats = framer.stats();
    assert_eq!((stats.frames, stats.dropped()), (frames, dropped));
    assert_eq!(edges, fed, "every edge in one frame");
}

fn edge(d1: bool, ns: u64) -> Edge {
    Edge {
        ns,
        line: if d1 { Line::D1 } else { Line::D0 },
    }
}

fn check_line(input: &Input) {
    let f = format(input.format);
    let config = AsciiConfig {
        encoding: if input.hex {
            Encoding::Hex
        } else {
            Encoding::Decimal
        },
        includes_parity: input.includes_parity,
        // Mostly the format's own length, so lines get past the configuration check.
        bits: match f.bits() {
            Some(n) if input.line_bits % 4 != 0 => n,
            _ => usize::from(input.line_bits),
        },
    };
    if let Ok(bits) = parse_line(&input.line, &config, f) {
        assert_eq!(bits.len(), config.bits);
        if !config.includes_parity {
            assert!(decode(&bits, f).is_ok(), "{f} {bits}");
        }
    }
}

fuzz_target!(|input: Input| {
    if let Ok(bits) = Bits::from_bytes(&input.packed, usize::from(input.bit_count)) {
        let mut again = bits.to_bytes();
        assert_eq!(again.len(), input.packed.len());
        if let (Some(a), Some(b)) = (again.last_mut(), input.packed.last()) {
            let keep = match bits.len() % 8 {
                0 => 0xFF,
                n => 0xFFu8 << (8 - n),
            };
            assert_eq!(*a, b & keep);
            *a = *b;
        }
        assert_eq!(again, input.packed);
        check_decode(&bits);
    }
    // Every format on a frame of its own length, so the parity checks run.
    let f = format(input.format);
    if let Some(n) = f.bits() {
        let mut bytes = input.packed.clone();
        bytes.resize(n.div_ceil(8), 0);
        if let Ok(bits) = Bits::from_bytes(&bytes, n) {
            check_decode(&bits);
        }
    }
    check_framer(&input);
    check_line(&input);
});
