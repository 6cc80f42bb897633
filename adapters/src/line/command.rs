//! Command templates: a relay or auxiliary command rendered from named parameters, then
//! given its checksum and framing ([`encode`]) as the bytes to write.

use std::collections::BTreeMap;
use std::time::Duration;

use super::checksum;
use super::rules::Outcome;
use super::spec::{Checksum, Endianness, Framing};
use super::text_template::{TemplateError, TextTemplate};

/// One piece of a command's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Bytes as they are.
    Literal(Vec<u8>),
    /// Text with placeholders (ASCII protocols: `"040{partition}{code:<6}"`).
    Text(TextTemplate),
    /// An integer parameter written as `width` (1, 2 or 4) binary bytes.
    Int {
        /// The parameter.
        param: String,
        /// Bytes.
        width: u8,
        /// Byte order.
        endianness: Endianness,
    },
}

/// What the adapter waits for after sending a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckSpec {
    /// The key an [`Outcome::Ack`] or [`Outcome::Nak`] must carry to answer this command
    /// (placeholders from the parameters allowed); `None`: the next one answers, whatever it
    /// carries.
    pub key: Option<TextTemplate>,
    /// How long to wait before the write fails.
    pub timeout: Duration,
}

/// A command of a protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandTemplate {
    /// Its name (what the mapping's relays and auxiliary commands refer to).
    pub name: String,
    /// The message, piece by piece (no checksum, no framing).
    pub parts: Vec<Part>,
    /// The acknowledgement to wait for, if the panel sends one.
    pub ack: Option<AckSpec>,
}

/// Parameters of one command, by name, as text (`"partition" → "1"`).
pub type Params = BTreeMap<String, String>;

impl CommandTemplate {
    /// A text command: one [`Part::Text`] parsed from `template`.
    pub fn text(name: &str, template: &str) -> Result<CommandTemplate, TemplateError> {
        Ok(CommandTemplate {
            name: name.to_owned(),
            parts: vec![Part::Text(TextTemplate::parse(template)?)],
            ack: None,
        })
    }

    /// The message for these parameters (before checksum and framing).
    pub fn message(&self, params: &Params) -> Result<Vec<u8>, TemplateError> {
        let lookup = |name: &str| params.get(name).cloned();
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(bytes) => out.extend_from_slice(bytes),
                Part::Text(template) => out.extend_from_slice(template.render(lookup)?.as_bytes()),
                Part::Int {
                    param,
                    width,
                    endianness,
                } => {
                    let value = params
                        .get(param)
                        .ok_or_else(|| TemplateError::Missing(param.clone()))?;
                    out.extend(int_bytes(param, value, *width, *endianness)?);
                }
            }
        }
        Ok(out)
    }

    /// The key the answer must carry, for these parameters (see [`AckSpec::key`]).
    pub fn ack_key(&self, params: &Params) -> Result<Option<String>, TemplateError> {
        match self.ack.as_ref().and_then(|a| a.key.as_ref()) {
            Some(key) => key.render(|name| params.get(name).cloned()).map(Some),
            None => Ok(None),
        }
    }
}

fn int_bytes(
    param: &str,
    value: &str,
    width: u8,
    endianness: Endianness,
) -> Result<Vec<u8>, TemplateError> {
    let bad = |why: &str| TemplateError::BadValue {
        name: param.to_owned(),
        value: value.to_owned(),
        why: why.to_owned(),
    };
    let text = value.trim();
    let n: i64 = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).map_err(|_| bad("not a number"))?,
        None => text.parse().map_err(|_| bad("not a number"))?,
    };
    let bits = match width {
        1 | 2 | 4 => u32::from(width) * 8,
        _ => return Err(bad("width is not 1, 2 or 4 bytes")),
    };
    // Signed or unsigned, as long as it fits the width.
    if n < -(1i64 << (bits - 1)) || n >= (1i64 << bits) {
        return Err(bad(&format!("does not fit {width} bytes")));
    }
    let be = (n as u64).to_be_bytes();
    let mut bytes = be[8 - usize::from(width)..].to_vec();
    if endianness == Endianness::Little {
        bytes.reverse();
    }
    Ok(bytes)
}

/// Whether `outcome` answers a command waiting with `key` ([`CommandTemplate::ack_key`]):
/// `Some(Ok(()))` for an acknowledgement, `Some(Err(reason))` for a refusal, `None` if it
/// is no answer to it. An answer without a key answers any command; a command without a
/// key takes any answer.
pub fn answers(key: Option<&str>, outcome: &Outcome) -> Option<Result<(), String>> {
    let fits = |carried: &Option<String>| match (key, carried) {
        (Some(want), Some(got)) => want == got,
        _ => true,
    };
    match outcome {
        Outcome::Ack { key: carried } if fits(carried) => Some(Ok(())),
        Outcome::Nak {
            key: carried,
            reason,
        } if fits(carried) => Some(Err(reason.clone().unwrap_or_else(|| "refused".into()))),
        _ => None,
    }
}

/// Why a message cannot be put on the wire.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message is shorter than the checksum's span or the length field's offset, or so
    /// short that the checksum field would lie on the length field.
    #[error("message too short for its checksum or length field")]
    Short,
    /// The body does not fit the framing (fixed length, length field width, maximum).
    #[error("frame does not fit: {0}")]
    Length(String),
    /// The body contains the delimiter or a marker, and the framing cannot escape it.
    #[error("the message contains the frame's {0} and the framing has no escape")]
    Unescapable(&'static str),
}

/// The bytes on the wire for `message`: length field (for [`Framing::LengthPrefixed`]),
/// checksum, escaping and markers added. The message's bytes fill the body in order around
/// the length field (at its offset from the start of the body) and the checksum field (at
/// its place from the end), so the receiver's message is this one with the length field
/// inserted where it lies. Refused: a body over `max_len`, an empty one, fields that do
/// not fit or overlap, and bytes the framing cannot carry (see [`EncodeError`]).
pub fn encode(
    framing: &Framing,
    checksum: Option<&Checksum>,
    message: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, EncodeError> {
    let body = body(framing, checksum, message)?;
    if body.len() > max_len {
        return Err(EncodeError::Length(format!(
            "{} bytes, over the max frame length {max_len}",
            body.len()
        )));
    }
    if body.is_empty() {
        return Err(EncodeError::Length(
            "an empty frame is never received".into(),
        ));
    }
    let mut wire = Vec::with_capacity(body.len() + 8);
    match framing {
        Framing::Delimiter { delimiter } => {
            if !ends_only_at_end(&body, delimiter) {
                return Err(EncodeError::Unescapable("delimiter"));
            }
            wire.extend_from_slice(&body);
            wire.extend_from_slice(delimiter);
        }
        Framing::FixedLength { length, start } => {
            if start.len() + body.len() != *length {
                return Err(EncodeError::Length(format!(
                    "{} bytes with the start marker, the frame is {length}",
                    start.len() + body.len()
                )));
            }
            wire.extend_from_slice(start);
            wire.extend_from_slice(&body);
        }
        Framing::StartEnd { start, end, escape } => {
            wire.extend_from_slice(start);
            match escape {
                Some(rule) => {
                    let first = |m: &Vec<u8>| m.first().copied();
                    for &b in &body {
                        let special = b == rule.escape
                            || Some(b) == first(start)
                            || Some(b) == first(end)
                            || rule.also.contains(&b);
                        if special {
                            let pair = [rule.escape, rule.escape_byte(b)];
                            if pair == start.as_slice() || pair == end.as_slice() {
                                // The escaped byte would read as a marker (an `also` byte
                                // that is the second byte of DLE ETX, say).
                                return Err(EncodeError::Unescapable("marker"));
                            }
                            wire.extend_from_slice(&pair);
                        } else {
                            wire.push(b);
                        }
                    }
                }
                None => {
                    if !ends_only_at_end(&body, end) {
                        return Err(EncodeError::Unescapable("end marker"));
                    }
                    wire.extend_from_slice(&body);
                }
            }
            wire.extend_from_slice(end);
        }
        Framing::LengthPrefixed { start, end, .. } => {
            wire.extend_from_slice(start);
            wire.extend_from_slice(&body);
            wire.extend_from_slice(end);
        }
    }
    Ok(wire)
}

/// Whether `body` followed by `marker` holds the marker only at its end (so a receiver
/// cuts the frame there, not earlier: `a\n` + `\n\n` would end early).
fn ends_only_at_end(body: &[u8], marker: &[u8]) -> bool {
    if marker.is_empty() {
        return false;
    }
    let mut wire = body.to_vec();
    wire.extend_from_slice(marker);
    wire.windows(marker.len()).position(|w| w == marker) == Some(body.len())
}

/// The body for `message`: its bytes in order around the length field (at its offset from
/// the start) and the checksum field (at its place from the end), both filled in.
fn body(
    framing: &Framing,
    checksum: Option<&Checksum>,
    message: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let length = match framing {
        Framing::LengthPrefixed { length, .. } => Some(*length),
        _ => None,
    };
    let length_width = length.map_or(0, |l| usize::from(l.width));
    let checksum_width = checksum.map_or(0, Checksum::field_width);
    let n = message.len() + length_width + checksum_width;
    let length_range = length.map(|l| l.offset..l.offset + length_width);
    let checksum_range = match checksum {
        Some(c) => {
            let at = n.checked_sub(c.field_from_end).ok_or(EncodeError::Short)?;
            Some(at..at + checksum_width)
        }
        None => None,
    };
    let fits = |r: &Option<std::ops::Range<usize>>| r.as_ref().is_none_or(|r| r.end <= n);
    let disjoint = match (&length_range, &checksum_range) {
        (Some(l), Some(c)) => l.end <= c.start || c.end <= l.start,
        _ => true,
    };
    if !fits(&length_range) || !fits(&checksum_range) || !disjoint {
        return Err(EncodeError::Short);
    }
    let in_field = |i: usize| {
        length_range.as_ref().is_some_and(|r| r.contains(&i))
            || checksum_range.as_ref().is_some_and(|r| r.contains(&i))
    };
    let mut bytes = message.iter();
    let mut body: Vec<u8> = (0..n)
        .map(|i| {
            if in_field(i) {
                0
            } else {
                bytes.next().copied().unwrap_or(0)
            }
        })
        .collect();
    if let (Some(field), Some(range)) = (length, length_range) {
        let value = i64::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(field.adjust))
            .filter(|v| *v >= 0)
            .ok_or_else(|| EncodeError::Length("negative length".into()))?;
        let encoded = int_bytes("length", &value.to_string(), field.width, field.endianness)
            .map_err(|e| EncodeError::Length(e.to_string()))?;
        body[range].copy_from_slice(&encoded);
    }
    if let Some(checksum) = checksum {
        checksum::fill(checksum, &mut body).ok_or(EncodeError::Short)?;
        // An unchecked description may have a span over its own field: never send a frame
        // that would not check.
        if checksum::verify(checksum, &body).is_err() {
            return Err(EncodeError::Short);
        }
    }
    Ok(body)
}
