//! Rules: what a message means. The first rule whose matcher fits a message turns it into
//! [`Outcome`]s; a message no rule fits is [`Classified::Unmatched`] (counted, logged at
//! DEBUG by the adapter, never an event).

use std::collections::BTreeMap;

use regex::bytes::Regex;

use super::fields::{BinaryField, Fields, extract_binary, extract_text};
use super::text_template::TextTemplate;
use crate::point::PointId;

/// How a rule recognises its messages.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// A regular expression over the message's bytes (anchor it with `^…$` to match whole
    /// messages); its named groups become text fields.
    Text(Regex),
    /// Byte values at offsets; then the fields are read at their places (a message too
    /// short for a field does not match).
    Binary {
        /// Every one must hold.
        bytes: Vec<ByteMatch>,
        /// The message's exact length, if the rule requires one.
        length: Option<usize>,
        /// Fields to read.
        fields: Vec<BinaryField>,
    },
}

/// `message[offset] & mask == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteMatch {
    /// Offset in the message.
    pub offset: usize,
    /// Expected value (after the mask).
    pub value: u8,
    /// Which bits count (0xFF: the whole byte).
    pub mask: u8,
}

/// What a matching rule produces; placeholders and field names refer to the rule's fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A digital input's new state (a zone open: `true`; restored: `false`).
    InputState {
        /// The point id, e.g. `dsc/zone/{zone}`.
        point: TextTemplate,
        /// The state the message means.
        state: bool,
    },
    /// A reading: `value = field × scale + offset`.
    Value {
        /// The point id.
        point: TextTemplate,
        /// The field holding the number.
        field: String,
        /// Multiplier.
        scale: f64,
        /// Added after scaling.
        offset: f64,
    },
    /// A fixed reading the message means (a partition disarmed: state 0).
    Fixed {
        /// The point id.
        point: TextTemplate,
        /// The value.
        value: f64,
    },
    /// An event with named items.
    Event {
        /// Its topic or name, as the mapping gives it (placeholders allowed).
        topic: TextTemplate,
        /// `(item name, field name)`; empty: every field under its own name.
        items: Vec<(String, String)>,
    },
    /// The panel accepted a command. `key`: the field naming which one (IT-100 500 carries
    /// the command code), if any.
    Ack {
        /// Field identifying the command acknowledged.
        key: Option<String>,
    },
    /// The panel refused a command.
    Nak {
        /// Field identifying the command refused, if the message says.
        key: Option<String>,
        /// Field with the reason (an error code), if any.
        reason: Option<String>,
    },
}

/// One rule of a protocol.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its name, for logs and diagnostics.
    pub name: String,
    /// What it matches.
    pub matcher: Matcher,
    /// What it produces, in order.
    pub actions: Vec<Action>,
}

/// What one message produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A digital input changed (or was reported).
    InputState {
        /// Which point.
        point: PointId,
        /// Its state.
        state: bool,
    },
    /// A reading, scaled.
    Value {
        /// Which point.
        point: PointId,
        /// The value.
        value: f64,
    },
    /// An event.
    Event {
        /// Topic or name.
        topic: String,
        /// Items, by name, as text.
        items: BTreeMap<String, String>,
    },
    /// A command was accepted.
    Ack {
        /// Which command, if the message says.
        key: Option<String>,
    },
    /// A command was refused.
    Nak {
        /// Which command, if the message says.
        key: Option<String>,
        /// Why, if the message says.
        reason: Option<String>,
    },
}

/// A message, classified.
#[derive(Clone, Debug, PartialEq)]
pub enum Classified {
    /// Rule `rule` (index) matched and produced these.
    Matched {
        /// Index of the rule.
        rule: usize,
        /// What it produced.
        outcomes: Vec<Outcome>,
    },
    /// No rule matched.
    Unmatched,
    /// Rule `rule` matched but its fields do not make its outcomes (a missing field, a
    /// value that is not a number). Counted as unmatched.
    Unusable {
        /// Index of the rule.
        rule: usize,
        /// What was wrong.
        why: String,
    },
}

impl Matcher {
    /// The message's fields if it matches.
    pub fn fields(&self, message: &[u8]) -> Option<Fields> {
        match self {
            Matcher::Text(regex) => extract_text(regex, message),
            Matcher::Binary {
                bytes,
                length,
                fields,
            } => {
                if length.is_some_and(|n| n != message.len()) {
                    return None;
                }
                let fits = bytes.iter().all(|m| {
                    message
                        .get(m.offset)
                        .is_some_and(|b| b & m.mask == m.value & m.mask)
                });
                if !fits {
                    return None;
                }
                extract_binary(fields, message)
            }
        }
    }
}

impl Action {
    fn outcome(&self, fields: &Fields) -> Result<Outcome, String> {
        let text = |t: &TextTemplate| {
            t.render(|name| fields.get(name).map(|v| v.to_string()))
                .map_err(|e| e.to_string())
        };
        let field = |name: &str| {
            fields
                .get(name)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("no field {name:?}"))
        };
        Ok(match self {
            Action::InputState { point, state } => Outcome::InputState {
                point: PointId(text(point)?),
                state: *state,
            },
            Action::Value {
                point,
                field: name,
                scale,
                offset,
            } => {
                let raw = fields
                    .get(name)
                    .ok_or_else(|| format!("no field {name:?}"))?;
                let number = raw
                    .as_number()
                    .ok_or_else(|| format!("field {name:?} = {raw} is not a number"))?;
                Outcome::Value {
                    point: PointId(text(point)?),
                    value: number * scale + offset,
                }
            }
            Action::Fixed { point, value } => Outcome::Value {
                point: PointId(text(point)?),
                value: *value,
            },
            Action::Event { topic, items } => {
                let items = if items.is_empty() {
                    fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect()
                } else {
                    items
                        .iter()
                        .map(|(item, name)| Ok((item.clone(), field(name)?)))
                        .collect::<Result<_, String>>()?
                };
                Outcome::Event {
                    topic: text(topic)?,
                    items,
                }
            }
            Action::Ack { key } => Outcome::Ack {
                key: key.as_deref().map(field).transpose()?,
            },
            Action::Nak { key, reason } => Outcome::Nak {
                key: key.as_deref().map(field).transpose()?,
                reason: reason.as_deref().map(field).transpose()?,
            },
        })
    }
}

/// Classifies one message by the first rule that matches it.
pub fn classify(rules: &[Rule], message: &[u8]) -> Classified {
    for (index, rule) in rules.iter().enumerate() {
        let Some(fields) = rule.matcher.fields(message) else {
            continue;
        };
        return match rule
            .actions
            .iter()
            .map(|a| a.outcome(&fields))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(outcomes) => Classified::Matched {
                rule: index,
                outcomes,
            },
            Err(why) => Classified::Unusable { rule: index, why },
        };
    }
    Classified::Unmatched
}
