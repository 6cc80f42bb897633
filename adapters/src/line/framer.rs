//! The streaming framer: bytes in (any chunking), frame bodies out.
//!
//! One [`Framer`] per link, fed whatever the port returned. It never panics and never holds
//! more than about one frame: a body growing past the maximum length is dropped, counted
//! ([`Counters::oversize`]), and the framer skips to the end of that frame. Bytes outside
//! any frame (before a start marker, a frame cut short by a new start) are counted as
//! [`Counters::garbage`] and dropped. Escaping is undone, so bodies are what the sender
//! meant.

use super::counters::Counters;
use super::spec::{EscapeRule, Framing, LengthField};

/// Cuts frames out of a byte stream (see the module doc).
#[derive(Clone, Debug)]
pub struct Framer {
    framing: Framing,
    max_len: usize,
    /// Marker framings: the body being collected. Counted framings: the raw bytes pending.
    buf: Vec<u8>,
    state: State,
    counters: Counters,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Looking for the start marker (the last bytes seen are in `buf`).
    Hunt,
    /// Inside a frame.
    Body {
        /// The previous byte was the escape byte.
        escaped: bool,
        /// How many of the last bytes of `buf` were received as they are (not escaped), so
        /// may be part of a marker.
        raw_run: usize,
        /// The frame is over the maximum length: keep only enough to see its end.
        discarding: bool,
    },
}

const BODY: State = State::Body {
    escaped: false,
    raw_run: 0,
    discarding: false,
};

impl Framer {
    /// A framer for `framing` keeping bodies of at most `max_len` bytes. The framing should
    /// have passed [`Framing::check`]; an unchecked one still never panics (an empty marker
    /// matches nowhere, or everywhere).
    pub fn new(framing: Framing, max_len: usize) -> Framer {
        let state = initial(&framing);
        Framer {
            framing,
            max_len,
            buf: Vec::new(),
            state,
            counters: Counters::default(),
        }
    }

    /// What the framer counted so far (frames, oversize, garbage).
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The framing it cuts.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// The line was silent long enough that no frame can still be in progress (or the link
    /// was reconnected): a partial frame is dropped as garbage.
    pub fn gap(&mut self) {
        if matches!(self.state, State::Body { .. }) || self.counted() {
            self.counters.garbage += self.buf.len() as u64;
        }
        self.buf.clear();
        self.state = initial(&self.framing);
    }

    /// Feeds received bytes; returns the bodies of the frames they completed, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.counted() {
            self.buf.extend_from_slice(bytes);
            self.cut_counted(&mut out);
        } else {
            for &b in bytes {
                if let Some(body) = self.marker_byte(b) {
                    out.push(body);
                }
            }
        }
        out
    }

    fn counted(&self) -> bool {
        matches!(
            self.framing,
            Framing::FixedLength { .. } | Framing::LengthPrefixed { .. }
        )
    }

    /// One byte of a marker framing (delimiter or start/end).
    fn marker_byte(&mut self, b: u8) -> Option<Vec<u8>> {
        let (start, end, escape): (&[u8], &[u8], Option<&EscapeRule>) = match &self.framing {
            Framing::Delimiter { delimiter } => (&[], delimiter, None),
            Framing::StartEnd { start, end, escape } => (start, end, escape.as_ref()),
            _ => return None,
        };
        // With one marker for both ends (HDLC's 0x7E flag) the end of a frame may be the
        // start of the next; two flags in a row are an empty frame, skipped.
        let back_to_body = start.is_empty() || start == end;
        match self.state {
            State::Hunt => {
                self.buf.push(b);
                if self.buf.len() > start.len() {
                    self.buf.remove(0);
                    self.counters.garbage += 1;
                }
                if self.buf == start {
                    self.buf.clear();
                    self.state = BODY;
                }
                None
            }
            State::Body {
                escaped,
                mut raw_run,
                mut discarding,
            } => {
                if escaped {
                    let rule = escape?;
                    let pair = [rule.escape, b];
                    if end == pair {
                        return self.complete(back_to_body, discarding);
                    }
                    if start == pair {
                        // The pair itself never went into the body.
                        self.restart(0);
                        return None;
                    }
                    self.buf.push(rule.unescape(b));
                    raw_run = 0;
                } else if escape.is_some_and(|rule| rule.escape == b) {
                    self.state = State::Body {
                        escaped: true,
                        raw_run,
                        discarding,
                    };
                    return None;
                } else {
                    self.buf.push(b);
                    raw_run += 1;
                    if !end.is_empty() && raw_run >= end.len() && self.buf.ends_with(end) {
                        let keep = self.buf.len() - end.len();
                        self.buf.truncate(keep);
                        return self.complete(back_to_body, discarding);
                    }
                    if escape.is_some()
                        && !start.is_empty()
                        && raw_run >= start.len()
                        && self.buf.ends_with(start)
                    {
                        self.restart(start.len());
                        return None;
                    }
                }
                if discarding {
                    // Keep just enough to recognise the end marker.
                    let excess = self.buf.len().saturating_sub(end.len());
                    self.buf.drain(..excess);
                    raw_run = raw_run.min(self.buf.len());
                } else if self.buf.len() > self.max_len.saturating_add(end.len()) {
                    self.counters.oversize += 1;
                    discarding = true;
                    let excess = self.buf.len().saturating_sub(end.len());
                    self.buf.drain(..excess);
                    raw_run = raw_run.min(self.buf.len());
                }
                self.state = State::Body {
                    escaped: false,
                    raw_run,
                    discarding,
                };
                None
            }
        }
    }

    /// An unescaped start marker inside a frame: what came before was a truncated frame.
    /// `marker_in_buf`: how many bytes of the marker are at the end of the body.
    fn restart(&mut self, marker_in_buf: usize) {
        if !matches!(
            self.state,
            State::Body {
                discarding: true,
                ..
            }
        ) {
            self.counters.garbage += self.buf.len().saturating_sub(marker_in_buf) as u64;
        }
        self.buf.clear();
        self.state = BODY;
    }

    /// The end marker: emit the body unless it was over the limit (already counted) or empty.
    fn complete(&mut self, back_to_body: bool, discarding: bool) -> Option<Vec<u8>> {
        let body = std::mem::take(&mut self.buf);
        self.state = if back_to_body { BODY } else { State::Hunt };
        if discarding {
            return None;
        }
        if body.len() > self.max_len {
            self.counters.oversize += 1;
            return None;
        }
        if body.is_empty() {
            return None;
        }
        self.counters.frames += 1;
        Some(body)
    }

    /// Fixed-length and length-prefixed frames, from the raw bytes in `buf`.
    fn cut_counted(&mut self, out: &mut Vec<Vec<u8>>) {
        // Every turn either returns, emits a frame or drops a byte, so this ends.
        while !self.buf.is_empty() {
            let (start, end, total) = match &self.framing {
                Framing::FixedLength { length, start } => (start.as_slice(), &[][..], Ok(*length)),
                Framing::LengthPrefixed { start, length, end } => {
                    (start.as_slice(), end.as_slice(), Err(*length))
                }
                _ => return,
            };
            if !start.is_empty() {
                match find(&self.buf, start) {
                    Some(0) => {}
                    Some(i) => {
                        self.counters.garbage += i as u64;
                        self.buf.drain(..i);
                    }
                    None => {
                        // Keep what could be the beginning of a start marker.
                        let keep = (start.len() - 1).min(self.buf.len());
                        let drop = self.buf.len() - keep;
                        self.counters.garbage += drop as u64;
                        self.buf.drain(..drop);
                        return;
                    }
                }
            }
            let body_len = match total {
                Ok(length) => {
                    if length <= start.len() {
                        // An unchecked spec with no body: nothing can ever be cut.
                        self.resync();
                        continue;
                    }
                    let n = length - start.len();
                    if n > self.max_len {
                        // Unchecked: the fixed length is over the limit. Never emit it.
                        self.counters.oversize += 1;
                        self.resync();
                        continue;
                    }
                    n
                }
                Err(field) => match body_length(&self.buf[start.len()..], field) {
                    Need::More => return,
                    Need::Broken => {
                        self.resync();
                        continue;
                    }
                    Need::Body(n) if n > self.max_len => {
                        self.counters.oversize += 1;
                        self.resync();
                        continue;
                    }
                    Need::Body(n) => n,
                },
            };
            let Some(frame_len) = start
                .len()
                .checked_add(body_len)
                .and_then(|n| n.checked_add(end.len()))
            else {
                self.resync();
                continue;
            };
            if self.buf.len() < frame_len {
                return;
            }
            let body_end = start.len() + body_len;
            if &self.buf[body_end..frame_len] != end {
                self.resync();
                continue;
            }
            let body = self.buf[start.len()..body_end].to_vec();
            self.buf.drain(..frame_len);
            self.counters.frames += 1;
            out.push(body);
        }
    }

    /// A broken counted frame: skip its first byte and hunt for the next start.
    fn resync(&mut self) {
        if !self.buf.is_empty() {
            self.buf.remove(0);
            self.counters.garbage += 1;
        }
    }
}

fn initial(framing: &Framing) -> State {
    match framing {
        Framing::Delimiter { .. } => BODY,
        _ => State::Hunt,
    }
}

enum Need {
    More,
    Broken,
    Body(usize),
}

/// The body length a length field gives, from the bytes after the start marker.
fn body_length(after_start: &[u8], field: LengthField) -> Need {
    let width = usize::from(field.width);
    if !matches!(width, 1 | 2 | 4) {
        return Need::Broken;
    }
    let Some(end) = field.offset.checked_add(width) else {
        return Need::Broken;
    };
    let Some(bytes) = after_start.get(field.offset..end) else {
        return Need::More;
    };
    let value = super::fields::read_uint(bytes, field.endianness);
    let Some(len) = i64::try_from(value)
        .ok()
        .and_then(|v| v.checked_add(field.adjust))
    else {
        return Need::Broken;
    };
    match usize::try_from(len) {
        // The body must at least hold its own length field.
        Ok(n) if n >= end => Need::Body(n),
        _ => Need::Broken,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
