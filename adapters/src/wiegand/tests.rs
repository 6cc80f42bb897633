//! Recorded edge streams (`adapters/tests/data/wiegand/`, see each file's header) through the
//! framer and the decoder, as the GPIO adapter will run them. The fixtures' frames were
//! packed by a separate script the way proxmark3 packs them, so they also check [`encode`].

use super::edges::{DropReason, Dropped, Edge, Framed, Framer, parse_recording};
use super::{Bits, Card, Format, decode, encode};

const CLEAN: &str = include_str!("../../tests/data/wiegand/clean_h10301.txt");
const BACK_TO_BACK: &str = include_str!("../../tests/data/wiegand/back_to_back.txt");
const NOISY: &str = include_str!("../../tests/data/wiegand/noisy.txt");
const JITTER: &str = include_str!("../../tests/data/wiegand/jitter_corporate35.txt");
const PACKED: &str = include_str!("../../tests/data/wiegand/packed.txt");

/// Feeds every edge, polling before each at its time as a caller waiting on the deadline
/// would, then polls once past the last deadline.
fn run(recording: &str) -> (Vec<Framed>, Framer) {
    let edges: Vec<Edge> = parse_recording(recording).unwrap();
    let mut framer = Framer::default();
    let mut out = Vec::new();
    for e in edges {
        if framer.deadline().is_some_and(|d| d <= e.ns) {
            out.extend(framer.poll(e.ns));
        }
        out.extend(framer.edge(e));
    }
    if let Some(d) = framer.deadline() {
        assert!(framer.poll(d - 1).is_none(), "ended before the gap");
        out.extend(framer.poll(d));
    }
    (out, framer)
}

fn cards(out: &[Framed], format: Format) -> Vec<Card> {
    out.iter()
        .filter_map(|f| match f {
            Framed::Frame(frame) => Some(decode(&frame.bits, format).unwrap()),
            Framed::Dropped(_) => None,
        })
        .collect()
}

fn fields(cards: &[Card]) -> Vec<(Option<u32>, u64)> {
    cards.iter().map(|c| (c.facility, c.number)).collect()
}

#[test]
fn a_clean_read() {
    let (out, framer) = run(CLEAN);
    let cards = cards(&out, Format::H10301);
    assert_eq!(fields(&cards), vec![(Some(123), 4567)]);
    assert_eq!(Ok(cards[0].bits), encode(Format::H10301, Some(123), 4567));
    assert_eq!(framer.stats().frames, 1);
    assert_eq!(framer.stats().dropped(), 0);
}

#[test]
fn two_reads_back_to_back() {
    let (out, framer) = run(BACK_TO_BACK);
    assert_eq!(
        fields(&cards(&out, Format::H10301)),
        vec![(Some(1), 556), (Some(11), 637)]
    );
    assert_eq!(framer.stats().frames, 2);
    // Without polling, the second read's first edge ends the first read.
    let mut framer = Framer::default();
    let ended: Vec<Framed> = parse_recording(BACK_TO_BACK)
        .unwrap()
        .into_iter()
        .filter_map(|e| framer.edge(e))
        .collect();
    assert_eq!(fields(&cards(&ended, Format::H10301)), vec![(Some(1), 556)]);
    assert!(matches!(framer.flush(), Some(Framed::Frame(f)) if f.bits.len() == 26));
}

#[test]
fn noise_is_dropped_and_counted_then_the_good_read_decodes() {
    let (out, framer) = run(NOISY);
    let reasons: Vec<(DropReason, usize)> = out
        .iter()
        .filter_map(|f| match f {
            Framed::Dropped(Dropped { reason, edges, .. }) => Some((*reason, *edges)),
            Framed::Frame(_) => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (DropReason::TooClose, 27),
            (DropReason::Simultaneous, 27),
            (DropReason::TooShort, 2),
        ]
    );
    assert_eq!(
        fields(&cards(&out, Format::H10301)),
        vec![(Some(68), 41551)]
    );
    let s = framer.stats();
    assert_eq!(
        (
            s.frames,
            s.too_close,
            s.simultaneous,
            s.too_short,
            s.too_long
        ),
        (1, 1, 1, 1, 0)
    );
}

#[test]
fn jittery_bit_timing_still_frames() {
    let (out, framer) = run(JITTER);
    let cards = cards(&out, Format::Corporate35);
    assert_eq!(fields(&cards), vec![(Some(222), 12345)]);
    assert_eq!(
        Ok(cards[0].bits),
        encode(Format::Corporate35, Some(222), 12345)
    );
    assert_eq!(framer.stats().dropped(), 0);
    // The same frame in the wrong format is refused, not misread.
    assert!(decode(&cards[0].bits, Format::H10301).is_err());
}

/// The frames each header names are the frames the edges carry.
#[test]
fn fixture_headers_match_their_edges() {
    for text in [CLEAN, JITTER] {
        let (out, _) = run(text);
        let header = text
            .lines()
            .find_map(|l| l.strip_prefix("# Frame: "))
            .unwrap();
        let Some(Framed::Frame(f)) = out.first() else {
            panic!("no frame")
        };
        assert_eq!(f.bits.to_string(), header.trim());
    }
}

/// Frames of every format packed by an independent script the way proxmark3 packs them:
/// `decode` reads the same fields, `encode` writes the same bits.
#[test]
fn frames_packed_like_proxmark3() {
    let mut seen = std::collections::HashSet::new();
    for line in PACKED.lines().filter(|l| !l.starts_with('#')) {
        let [format, facility, number, frame] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("{line}")
        };
        let format: Format = format.parse().unwrap();
        let facility: Option<u32> = facility.parse().ok();
        let number: u64 = number.parse().unwrap();
        let frame: Bits = frame.parse().unwrap();
        let card = decode(&frame, format).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!((card.facility, card.number), (facility, number), "{line}");
        assert_eq!(encode(format, facility, number), Ok(frame), "{line}");
        seen.insert(format);
    }
    assert_eq!(seen.len(), Format::ALL.len() - 1, "every format but raw");
}
