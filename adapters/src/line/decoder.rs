//! The receiving side of a line protocol in one piece: framer → checksum → rules.

use super::checksum::{self, ChecksumError};
use super::counters::Counters;
use super::framer::Framer;
use super::protocol::LineProtocol;
use super::rules::{Classified, Outcome, Rule, classify};
use super::spec::Checksum;

/// What one received frame became.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A rule matched.
    Matched {
        /// The rule's name.
        rule: String,
        /// What it produced.
        outcomes: Vec<Outcome>,
    },
    /// The checksum did not check: dropped (log at DEBUG).
    BadChecksum {
        /// The frame's body.
        body: Vec<u8>,
        /// How it failed.
        error: ChecksumError,
    },
    /// No rule matched, or the matching rule could not use the fields: dropped (log at
    /// DEBUG).
    Unmatched {
        /// The message (body without checksum).
        message: Vec<u8>,
        /// The rule that matched and why it could not be used, if one did.
        why: Option<String>,
    },
}

/// Bytes as printable text for a DEBUG line: ASCII as it is, the rest escaped
/// (`60900131\r`, `\x02\x03\x10`).
pub fn show(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect()
}

impl Decoded {
    /// Whether the frame shows the panel is there and talking sense: any frame whose
    /// checksum checks (matched or not) resets the supervision's silence timer.
    pub fn is_sign_of_life(&self) -> bool {
        !matches!(self, Decoded::BadChecksum { .. })
    }
}

/// Decodes a byte stream into outcomes, counting what it drops.
#[derive(Clone, Debug)]
pub struct Decoder {
    framer: Framer,
    checksum: Option<Checksum>,
    rules: Vec<Rule>,
    bad_checksum: u64,
    unmatched: u64,
}

impl Decoder {
    /// A decoder for `protocol`'s framing, checksum and rules.
    pub fn new(protocol: &LineProtocol) -> Decoder {
        Decoder {
            framer: Framer::new(protocol.framing.clone(), protocol.max_frame),
            checksum: protocol.checksum.clone(),
            rules: protocol.rules.clone(),
            bad_checksum: 0,
            unmatched: 0,
        }
    }

    /// Everything counted so far.
    pub fn counters(&self) -> Counters {
        Counters {
            bad_checksum: self.bad_checksum,
            unmatched: self.unmatched,
            ..self.framer.counters()
        }
    }

    /// Silence on the line or a new connection: drop a partial frame (see [`Framer::gap`]).
    pub fn gap(&mut self) {
        self.framer.gap();
    }

    /// Feeds received bytes; returns what each completed frame became, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        self.framer
            .push(bytes)
            .into_iter()
            .map(|body| self.frame(body))
            .collect()
    }

    /// One frame body (e.g. from a framer of one's own).
    pub fn frame(&mut self, body: Vec<u8>) -> Decoded {
        let message = match &self.checksum {
            Some(checksum) => {
                if let Err(error) = checksum::verify(checksum, &body) {
                    self.bad_checksum += 1;
                    return Decoded::BadChecksum { body, error };
                }
                checksum::strip(checksum, &body)
            }
            None => body,
        };
        match classify(&self.rules, &message) {
            Classified::Matched { rule, outcomes } => Decoded::Matched {
                rule: self.rules[rule].name.clone(),
                outcomes,
            },
            Classified::Unmatched => {
                self.unmatched += 1;
                Decoded::Unmatched { message, why: None }
            }
            Classified::Unusable { rule, why } => {
                self.unmatched += 1;
                Decoded::Unmatched {
                    message,
                    why: Some(format!("rule {}: {why}", self.rules[rule].name)),
                }
            }
        }
    }
}
