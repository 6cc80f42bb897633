//! The GPIO edge framer: falling edges on D0 and D1 in, [`Frame`]s of bits out.
//!
//! A pure state machine, fed what the GPIO character device delivers (gpiocdev edge events
//! requested with falling-edge detection: the line and the kernel timestamp in ns) and told
//! the time ([`Framer::poll`]) so a frame ends on silence without a timer of its own. The
//! caller waits until [`Framer::deadline`], then polls; [`Framer::flush`] ends a frame at once
//! (the line closing).
//!
//! Rules (timings from the southbound notes, section 2.2: ~50 µs pulses, ~2 ms apart (0.2 to
//! 20 ms in the field), a frame ends after more than ~25 ms of idle):
//! - a falling edge on D0 is a 0 bit, on D1 a 1 bit, in timestamp order;
//! - a frame ends when no edge comes for [`FramerConfig::frame_gap_ns`] (25 ms) after its
//!   last one; an edge after that gap starts the next frame;
//! - an edge closer than [`FramerConfig::min_interval_ns`] (200 µs) to the one before marks
//!   the frame noisy: [`DropReason::Simultaneous`] when it is on the other line (D0 and D1
//!   both pulsed: crosstalk, a miswired or shorted pair), [`DropReason::TooClose`] on the same
//!   line (bounce, interference). A timestamp going backwards counts as 0 ns apart;
//! - a noisy frame, one shorter than [`FramerConfig::min_bits`] (4) or longer than
//!   [`Bits::MAX`] is dropped whole, and counted in [`FramerStats`] by reason.
//!
//! Recordings (fixtures, captures for bug reports) are text, one edge per line,
//! `<ns> D0|D1`, with `#` comments: [`parse_recording`], and [`Edge`]'s `Display`.

use std::fmt;
use std::str::FromStr;

use super::bits::Bits;

/// A Wiegand data line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Line {
    /// D0: a low pulse is a 0 bit.
    D0,
    /// D1: a low pulse is a 1 bit.
    D1,
}

/// A falling edge on a data line, with the kernel's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    /// The timestamp in ns (gpiocdev `EdgeEvent::timestamp_ns`, CLOCK_MONOTONIC by default).
    pub ns: u64,
    /// The line.
    pub line: Line,
}

/// The framer's timing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerConfig {
    /// Idle time after the last edge that ends a frame (default 25 ms).
    pub frame_gap_ns: u64,
    /// Edges closer than this make the frame noisy (default 200 µs).
    pub min_interval_ns: u64,
    /// Shorter frames are dropped (default 4: a keypad key is 4 bits).
    pub min_bits: usize,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            frame_gap_ns: 25_000_000,
            min_interval_ns: 200_000,
            min_bits: 4,
        }
    }
}

/// A complete frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The bits.
    pub bits: Bits,
    /// The first edge's timestamp.
    pub first_ns: u64,
    /// The last edge's timestamp.
    pub last_ns: u64,
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Two edges on one line closer than the minimum interval.
    TooClose,
    /// Edges on D0 and D1 closer than the minimum interval.
    Simultaneous,
    /// Fewer bits than the minimum.
    TooShort,
    /// More bits than [`Bits::MAX`].
    TooLong,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::TooClose => "edges on one line closer than the minimum interval (noise)",
            DropReason::Simultaneous => "edges on D0 and D1 at once (noise or crosstalk)",
            DropReason::TooShort => "too few bits",
            DropReason::TooLong => "too many bits",
        })
    }
}

/// A dropped frame, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Why.
    pub reason: DropReason,
    /// How many edges it had.
    pub edges: usize,
    /// The first edge's timestamp.
    pub first_ns: u64,
    /// The last edge's timestamp.
    pub last_ns: u64,
}

/// What ending a frame gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// A frame to decode.
    Frame(Frame),
    /// A frame dropped (already counted in [`FramerStats`]).
    Dropped(Dropped),
}

/// Counts of frames delivered and dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Frames delivered.
    pub frames: u64,
    /// Dropped: [`DropReason::TooClose`].
    pub too_close: u64,
    /// Dropped: [`DropReason::Simultaneous`].
    pub simultaneous: u64,
    /// Dropped: [`DropReason::TooShort`].
    pub too_short: u64,
    /// Dropped: [`DropReason::TooLong`].
    pub too_long: u64,
}

impl FramerStats {
    /// Every dropped frame.
    pub fn dropped(&self) -> u64 {
        self.too_close + self.simultaneous + self.too_short + self.too_long
    }
}

#[derive(Debug, Clone)]
struct Partial {
    bits: Bits,
    edges: usize,
    first_ns: u64,
    last_ns: u64,
    last_line: Line,
    noise: Option<DropReason>,
}

/// Assembles edges into frames (see the module docs for the rules).
#[derive(Debug, Clone)]
pub struct Framer {
    config: FramerConfig,
    current: Option<Partial>,
    stats: FramerStats,
}

impl Framer {
    /// A framer with these rules.
    pub fn new(config: FramerConfig) -> Self {
        Framer {
            config,
            current: None,
            stats: FramerStats::default(),
        }
    }

    /// Takes an edge. Returns the previous frame when this edge comes after the frame gap
    /// (the edge then starts a new frame).
    pub fn edge(&mut self, edge: Edge) -> Option<Framed> {
        let ended = match &self.current {
            Some(p) if edge.ns.saturating_sub(p.last_ns) >= self.config.frame_gap_ns => {
                self.finish()
            }
            _ => None,
        };
        let bit = edge.line == Line::D1;
        match &mut self.current {
            None => {
                let mut bits = Bits::EMPTY;
                // An empty frame always takes a bit.
                let _ = bits.push(bit);
                self.current = Some(Partial {
                    bits,
                    edges: 1,
                    first_ns: edge.ns,
                    last_ns: edge.ns,
                    last_line: edge.line,
                    noise: None,
                });
            }
            Some(p) => {
                if edge.ns.saturating_sub(p.last_ns) < self.config.min_interval_ns {
                    p.noise.get_or_insert(if edge.line == p.last_line {
                        DropReason::TooClose
                    } else {
                        DropReason::Simultaneous
                    });
                }
                if p.bits.push(bit).is_err() {
                    p.noise.get_or_insert(DropReason::TooLong);
                }
                p.edges = p.edges.saturating_add(1);
                p.last_ns = p.last_ns.max(edge.ns);
                p.last_line = edge.line;
            }
        }
        ended
    }

    /// Ends the frame if `now_ns` is at or past its [`deadline`](Framer::deadline). `now_ns`
    /// is on the edges' clock (CLOCK_MONOTONIC unless the line request asked for another).
    pub fn poll(&mut self, now_ns: u64) -> Option<Framed> {
        match &self.current {
            Some(p) if now_ns.saturating_sub(p.last_ns) >= self.config.frame_gap_ns => {
                self.finish()
            }
            _ => None,
        }
    }

    /// Ends the frame now, whatever the time (the line is closing).
    pub fn flush(&mut self) -> Option<Framed> {
        self.finish()
    }

    /// When the frame in progress ends if no edge comes (`None` when idle): poll then.
    pub fn deadline(&self) -> Option<u64> {
        self.current
            .as_ref()
            .map(|p| p.last_ns.saturating_add(self.config.frame_gap_ns))
    }

    /// Frames delivered and dropped so far.
    pub fn stats(&self) -> FramerStats {
        self.stats
    }

    /// The rules.
    pub fn config(&self) -> FramerConfig {
        self.config
    }

    fn finish(&mut self) -> Option<Framed> {
        let p = self.current.take()?;
        let reason = p.noise.or(if p.bits.len() < self.config.min_bits {
            Some(DropReason::TooShort)
        } else {
            None
        });
        let Some(reason) = reason else {
            self.stats.frames += 1;
            return Some(Framed::Frame(Frame {
                bits: p.bits,
                first_ns: p.first_ns,
                last_ns: p.last_ns,
            }));
        };
        let counter = match reason {
            DropReason::TooClose => &mut self.stats.too_close,
            DropReason::Simultaneous => &mut self.stats.simultaneous,
            DropReason::TooShort => &mut self.stats.too_short,
            DropReason::TooLong => &mut self.stats.too_long,
        };
        *counter += 1;
        Some(Framed::Dropped(Dropped {
            reason,
            edges: p.edges,
            first_ns: p.first_ns,
            last_ns: p.last_ns,
        }))
    }
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(FramerConfig::default())
    }
}

/// The edges a reader sends for `bits`: the first at `start_ns`, then one every
/// `interval_ns` (for the simulator and tests).
pub fn edges_of(bits: &Bits, start_ns: u64, interval_ns: u64) -> impl Iterator<Item = Edge> + '_ {
    bits.iter().enumerate().map(move |(i, bit)| Edge {
        ns: start_ns.saturating_add(interval_ns.saturating_mul(i as u64)),
        line: if bit { Line::D1 } else { Line::D0 },
    })
}

/// A line of a recording that is not `<ns> D0|D1`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {text:?} is not an edge (expected `<ns> D0` or `<ns> D1`)")]
pub struct RecordingError {
    /// The line number (from 1).
    pub line: usize,
    /// The line.
    pub text: String,
}

/// Reads a recording: one edge per line, `<ns> D0|D1`; blank lines and `#` comments (also at
/// the end of a line) are skipped.
pub fn parse_recording(text: &str) -> Result<Vec<Edge>, RecordingError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(line.parse().map_err(|()| RecordingError {
            line: i + 1,
            text: raw.to_owned(),
        })?);
    }
    Ok(out)
}

impl FromStr for Edge {
    type Err = ();

    /// `<ns> D0` or `<ns> D1`.
    fn from_str(s: &str) -> Result<Edge, ()> {
        let mut words = s.split_whitespace();
        let (Some(ns), Some(line), None) = (words.next(), words.next(), words.next()) else {
            return Err(());
        };
        let line = match line {
            "D0" | "d0" => Line::D0,
            "D1" | "d1" => Line::D1,
            _ => return Err(()),
        };
        Ok(Edge {
            ns: ns.parse().map_err(|_| ())?,
            line,
        })
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = match self.line {
            Line::D0 => "D0",
            Line::D1 => "D1",
        };
        write!(f, "{} {line}", self.ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const US: u64 = 1_000;

    fn feed(framer: &mut Framer, edges: impl IntoIterator<Item = Edge>) -> Vec<Framed> {
        edges.into_iter().filter_map(|e| framer.edge(e)).collect()
    }

    fn frame(bits: &str) -> Bits {
        bits.parse().unwrap()
    }

    #[test]
    fn a_frame_ends_on_silence() {
        let mut f = Framer::default();
        let b = frame("10110");
        assert!(feed(&mut f, edges_of(&b, 1_000 * MS, 2 * MS)).is_empty());
        let last = 1_000 * MS + 8 * MS;
        assert_eq!(f.deadline(), Some(last + 25 * MS));
        assert_eq!(f.poll(last + 25 * MS - 1), None);
        let Some(Framed::Frame(got)) = f.poll(last + 25 * MS) else {
            panic!("no frame")
        };
        assert_eq!(got.bits, b);
        assert_eq!((got.first_ns, got.last_ns), (1_000 * MS, last));
        assert_eq!(f.deadline(), None);
        assert_eq!(f.poll(u64::MAX), None);
        assert_eq!(f.stats().frames, 1);
    }

    #[test]
    fn an_edge_after_the_gap_starts_the_next_frame() {
        let mut f = Framer::default();
        let a = frame("1111");
        let b = frame("0000");
        let mut edges: Vec<Edge> = edges_of(&a, 0, 2 * MS).collect();
        edges.extend(edges_of(&b, 6 * MS + 25 * MS, 2 * MS));
        let out = feed(&mut f, edges);
        assert!(matches!(out.as_slice(), [Framed::Frame(x)] if x.bits == a));
        let Some(Framed::Frame(second)) = f.flush() else {
            panic!()
        };
        assert_eq!(second.bits, b);
        assert_eq!(f.flush(), None);
    }

    #[test]
    fn noise_drops_the_whole_frame() {
        let mut f = Framer::default();
        let bounce = [
            Edge {
                ns: 0,
                line: Line::D1,
            },
            Edge {
                ns: 2 * MS,
                line: Line::D1,
            },
            Edge {
                ns: 2 * MS + 20 * US,
                line: Line::D1,
            },
            Edge {
                ns: 4 * MS,
                line: Line::D0,
            },
            Edge {
                ns: 6 * MS,
                line: Line::D0,
            },
        ];
        feed(&mut f, bounce);
        let Some(Framed::Dropped(d)) = f.flush() else {
            panic!()
        };
        assert_eq!((d.reason, d.edges), (DropReason::TooClose, 5));
        let both = [
            Edge {
                ns: 0,
                line: Line::D1,
            },
            Edge {
                ns: 2 * MS,
                line: Line::D1,
            },
            Edge {
                ns: 2 * MS,
                line: Line::D0,
            },
            Edge {
                ns: 4 * MS,
                line: Line::D0,
            },
            Edge {
                ns: 6 * MS,
                line: Line::D0,
            },
        ];
        feed(&mut f, both);
        assert!(matches!(
            f.flush(),
            Some(Framed::Dropped(Dropped {
                reason: DropReason::Simultaneous,
                ..
            }))
        ));
        // Time going backwards is noise, not a panic.
        feed(
            &mut f,
            [
                Edge {
                    ns: 10 * MS,
                    line: Line::D0,
                },
                Edge {
                    ns: 5 * MS,
                    line: Line::D0,
                },
            ],
        );
        assert!(matches!(
            f.flush(),
            Some(Framed::Dropped(Dropped {
                reason: DropReason::TooClose,
                ..
            }))
        ));
        let s = f.stats();
        assert_eq!(
            (s.too_close, s.simultaneous, s.frames, s.dropped()),
            (2, 1, 0, 3)
        );
    }

    #[test]
    fn short_and_long_frames_are_dropped() {
        let mut f = Framer::default();
        feed(&mut f, edges_of(&frame("101"), 0, 2 * MS));
        assert!(matches!(
            f.poll(100 * MS),
            Some(Framed::Dropped(Dropped {
                reason: DropReason::TooShort,
                edges: 3,
                ..
            }))
        ));
        let long: Vec<Edge> = (0..129u64)
            .map(|i| Edge {
                ns: i * MS,
                line: Line::D1,
            })
            .collect();
        feed(&mut f, long);
        assert!(matches!(
            f.flush(),
            Some(Framed::Dropped(Dropped {
                reason: DropReason::TooLong,
                edges: 129,
                ..
            }))
        ));
        // 128 bits is a frame.
        let full: Vec<Edge> = (0..128u64)
            .map(|i| Edge {
                ns: i * MS,
                line: Line::D1,
            })
            .collect();
        feed(&mut f, full);
        assert!(matches!(f.flush(), Some(Framed::Frame(x)) if x.bits.len() == 128));
        let s = f.stats();
        assert_eq!((s.too_short, s.too_long, s.frames), (1, 1, 1));
    }

    #[test]
    fn huge_timestamps_do_not_overflow() {
        let mut f = Framer::default();
        feed(
            &mut f,
            [Edge {
                ns: u64::MAX,
                line: Line::D0,
            }],
        );
        assert_eq!(f.deadline(), Some(u64::MAX));
        assert!(f.poll(u64::MAX).is_none());
        assert!(matches!(f.flush(), Some(Framed::Dropped(_))));
        assert_eq!(
            edges_of(&frame("11"), u64::MAX, u64::MAX)
                .last()
                .unwrap()
                .ns,
            u64::MAX
        );
    }

    #[test]
    fn recordings_parse_and_print() {
        let text = "# a comment\n\n100 D0\n  2000100 D1  # trailing\n";
        let edges = parse_recording(text).unwrap();
        assert_eq!(
            edges,
            vec![
                Edge {
                    ns: 100,
                    line: Line::D0
                },
                Edge {
                    ns: 2_000_100,
                    line: Line::D1
                }
            ]
        );
        assert_eq!(edges[1].to_string(), "2000100 D1");
        for bad in ["100", "100 D2", "x D0", "1 D0 D1", "-1 D1"] {
            let err = parse_recording(&format!("1 D0\n{bad}\n")).unwrap_err();
            assert_eq!(err.line, 2, "{bad}");
        }
        assert_eq!(
            parse_recording("1 D3").unwrap_err().to_string(),
            "line 1: \"1 D3\" is not an edge (expected `<ns> D0` or `<ns> D1`)"
        );
    }
}
