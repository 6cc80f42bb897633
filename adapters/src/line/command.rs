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
/// checksum, escaping and markers added.
pub fn encode(
    framing: &Framing,
    checksum: Option<&Checksum>,
    message: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, EncodeError> {
    let mut message = message.to_vec();
    // The length field goes in first (the checksum covers it); its value once the body is
    // complete.
    let length_at = match framing {
        Framing::LengthPrefixed { length, .. } => {
            if message.len() < length.offset {
                return Err(EncodeError::Short);
            }
            let at = length.offset;
            message.splice(at..at, std::iter::repeat_n(0u8, usize::from(length.width)));
            Some((at, *length))
        }
        _ => None,
    };
    let fill_length = |body: &mut Vec<u8>| -> Result<(), EncodeError> {
        if let Some((at, field)) = length_at {
            let value = i64::try_from(body.len())
                .ok()
                .and_then(|n| n.checked_sub(field.adjust))
                .filter(|v| *v >= 0)
                .ok_or_else(|| EncodeError::Length("negative length".into()))?;
            let bytes = int_bytes("length", &value.to_string(), field.width, field.endianness)
                .map_err(|e| EncodeError::Length(e.to_string()))?;
            body[at..at + bytes.len()].copy_from_slice(&bytes);
        }
        Ok(())
    };
    let body = match checksum {
        Some(checksum) => {
            // Fill the length before the checksum is computed over it: insert the field with
            // a provisional checksum, fix the length, then compute for real.
            let mut body = checksum::insert(checksum, &message).ok_or(EncodeError::Short)?;
            fill_length(&mut body)?;
            let stripped = checksum::strip(checksum, &body);
            checksum::insert(checksum, &stripped).ok_or(EncodeError::Short)?
        }
        None => {
            let mut body = message;
            fill_length(&mut body)?;
            body
        }
    };
    // The length field and the checksum field must not overlap (a short message can put
    // a field counted from the end on top of one counted from the start).
    if let Some((at, field)) = length_at {
        let width = usize::from(field.width);
        let value = body
            .get(at..at + width)
            .map(|bytes| super::fields::read_uint(bytes, field.endianness));
        let expected = u64::try_from(body.len() as i64 - field.adjust).ok();
        if value.is_none() || value != expected {
            return Err(EncodeError::Short);
        }
    }
    if checksum.is_some_and(|c| checksum::verify(c, &body).is_err()) {
        return Err(EncodeError::Short);
    }
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
