//! Watching the bus: the OSDP frames the library sends and receives, split out of the byte
//! streams its channel carries, so the driver learns two things the library's safe Rust API
//! does not tell it: **when a reader last answered** (a faster offline verdict than the
//! library's) and **whether a command was acknowledged** (`osdp_ACK`/`osdp_OSTATR` or
//! `osdp_NAK` to the `osdp_LED`, `osdp_BUZ` or `osdp_OUT` frame that carried it).
//!
//! This reads frame headers only; the library builds, encrypts, decrypts and checks every
//! frame itself. The header fields used here (address, control, security block length, the
//! command or reply code) are in clear text also under the secure channel: only the data
//! after the code is encrypted. A frame counts only when its CRC-16 or checksum is right, so
//! encrypted payload that happens to contain the start byte is not taken for a frame.
//!
//! ```text
//!  [0xFF mark] 0x53 SOM | ADDR (bit 7: reply) | LEN lsb msb | CTRL (SQN 0-1, CRC 2, SCB 3)
//!              | [SCB: len, type, data…] | CODE | data… | [MAC 4] | CRC-16 le / checksum
//! ```

/// Start of message.
const SOM: u8 = 0x53;
/// Shortest frame: SOM, ADDR, LEN (2), CTRL, CODE, checksum.
const MIN_LEN: usize = 7;
/// Longest frame accepted (the library's buffers are 256 bytes; readers' may be larger).
const MAX_LEN: usize = 1536;

/// `osdp_OUT`.
pub(crate) const CMD_OUT: u8 = 0x68;
/// `osdp_LED`.
pub(crate) const CMD_LED: u8 = 0x69;
/// `osdp_BUZ`.
pub(crate) const CMD_BUZ: u8 = 0x6A;
/// `osdp_ACK`.
pub(crate) const REPLY_ACK: u8 = 0x40;
/// `osdp_NAK`.
pub(crate) const REPLY_NAK: u8 = 0x41;
/// `osdp_OSTATR` (the answer to `osdp_OUT` the library accepts beside ACK).
pub(crate) const REPLY_OSTATR: u8 = 0x4A;

/// One frame seen on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The PD address (0–126, or 127 broadcast), without the reply bit.
    pub(crate) address: u8,
    /// A reply (PD → CP) rather than a command.
    pub(crate) reply: bool,
    /// The command or reply code.
    pub(crate) code: u8,
    /// For a NAK: its first data byte (the error code), if it was in clear text.
    pub(crate) nak_code: Option<u8>,
}

/// CRC-16 as OSDP uses it (CCITT polynomial, seed 0x1D0F; the library's `crc16_itu_t`).
fn crc16(bytes: &[u8]) -> u16 {
    let mut seed: u16 = 0x1D0F;
    for &b in bytes {
        seed = seed.rotate_left(8);
        seed ^= u16::from(b);
        seed ^= (seed & 0xff) >> 4;
        seed ^= seed << 12;
        seed ^= (seed & 0xff) << 5;
    }
    seed
}

/// The 8-bit checksum: the two's complement of the sum.
fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, &b| sum.wrapping_add(b))
        .wrapping_neg()
}

/// Splits one direction's byte stream into frames; bytes that are not part of a valid frame
/// are skipped (one at a time, so a frame right after garbage is still found).
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    buf: Vec<u8>,
}

impl Splitter {
    /// Takes the next bytes of the stream; calls `frame` for each complete, valid frame.
    pub(crate) fn push(&mut self, bytes: &[u8], mut frame: impl FnMut(Frame)) {
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let Some(start) = self.buf[at..].iter().position(|&b| b == SOM) else {
                at = self.buf.len();
                break;
            };
            at += start;
            let rest = &self.buf[at..];
            if rest.len() < 4 {
                break;
            }
            let len = usize::from(rest[2]) | usize::from(rest[3]) << 8;
            if !(MIN_LEN..=MAX_LEN).contains(&len) {
                at += 1;
                continue;
            }
            if rest.len() < len {
                // Either a frame still arriving, or a false start (a stray 0x53) claiming a
                // long length: a complete valid frame starting later wins, so a false start
                // never hides the frames behind it.
                match later_frame(rest) {
                    Some(skip) => {
                        at += skip;
                        continue;
                    }
                    None => break,
                }
            }
            match parse(&rest[..len]) {
                Some(f) => {
                    frame(f);
                    at += len;
                }
                None => at += 1,
            }
        }
        self.buf.drain(..at);
        // A stream of garbage never grows the buffer past one frame.
        if self.buf.len() > MAX_LEN {
            let cut = self.buf.len() - MAX_LEN;
            self.buf.drain(..cut);
        }
    }
}

/// The offset (after 0) of the first SOM in `rest` where a complete, valid frame starts.
fn later_frame(rest: &[u8]) -> Option<usize> {
    (1..rest.len()).filter(|&i| rest[i] == SOM).find(|&i| {
        let r = &rest[i..];
        if r.len() < 4 {
            return false;
        }
        let len = usize::from(r[2]) | usize::from(r[3]) << 8;
        (MIN_LEN..=MAX_LEN).contains(&len) && r.len() >= len && parse(&r[..len]).is_some()
    })
}

/// One whole candidate frame (SOM first, `LEN` bytes): its header, if the check is right.
fn parse(f: &[u8]) -> Option<Frame> {
    let ctrl = f[4];
    let crc = ctrl & 0x04 != 0;
    let body = f.len() - if crc { 2 } else { 1 };
    if crc {
        let got = u16::from(f[body]) | u16::from(f[body + 1]) << 8;
        if crc16(&f[..body]) != got {
            return None;
        }
    } else if checksum(&f[..body]) != f[body] {
        return None;
    }
    let mut code_at = 5;
    let mut encrypted = false;
    if ctrl & 0x08 != 0 {
        let scb_len = usize::from(*f.get(5)?);
        let scb_type = *f.get(6)?;
        if scb_len < 2 {
            return None;
        }
        encrypted = (0x15..=0x18).contains(&scb_type);
        code_at += scb_len;
    }
    if code_at >= body {
        return None;
    }
    let code = f[code_at];
    let nak_code = (code == REPLY_NAK && !encrypted)
        .then(|| f.get(code_at + 1).copied())
        .flatten()
        .filter(|_| code_at + 1 < body);
    Some(Frame {
        address: f[1] & 0x7f,
        reply: f[1] & 0x80 != 0,
        code,
        nak_code,
    })
}

/// Builds a frame (tests: the library's own frames are checked in the interop test).
#[cfg(test)]
pub(crate) fn build(address: u8, reply: bool, code: u8, data: &[u8], crc: bool) -> Vec<u8> {
    let len = 6 + data.len() + if crc { 2 } else { 1 };
    let mut f = vec![
        SOM,
        address | if reply { 0x80 } else { 0 },
        (len & 0xff) as u8,
        (len >> 8) as u8,
        if crc { 0x04 } else { 0 },
        code,
    ];
    f.extend_from_slice(data);
    if crc {
        let c = crc16(&f);
        f.extend_from_slice(&c.to_le_bytes());
    } else {
        f.push(checksum(&f));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |f| out.push(f));
        }
        out
    }

    #[test]
    fn the_crc_is_osdps() {
        // CRC-16/AUG-CCITT (the same polynomial and seed) of "123456789" is 0xE5CC.
        assert_eq!(crc16(b"123456789"), 0xE5CC);
    }

    #[test]
    fn frames_split_across_reads_with_marks_and_garbage() {
        let poll = build(5, false, 0x60, &[], true);
        let ack = build(5, true, REPLY_ACK, &[], true);
        let nak = build(5, true, REPLY_NAK, &[0x03], false);
        let mut stream = vec![0xFF, 0x53, 0x00, 0x99];
        stream.extend_from_slice(&poll);
        stream.push(0xFF);
        stream.extend_from_slice(&ack);
        stream.extend_from_slice(&nak);
        let (a, b) = stream.split_at(9);
        let frames = split(&[a, b]);
        assert_eq!(
            frames,
            vec![
                Frame {
                    address: 5,
                    reply: false,
                    code: 0x60,
                    nak_code: None
                },
                Frame {
                    address: 5,
                    reply: true,
                    code: REPLY_ACK,
                    nak_code: None
                },
                Frame {
                    address: 5,
                    reply: true,
                    code: REPLY_NAK,
                    nak_code: Some(3)
                },
            ]
        );
    }

    #[test]
    fn a_false_start_does_not_hide_the_next_frame() {
        let ack = build(7, true, REPLY_ACK, &[], true);
        // 0x53 0x00 then a length of 0x0400: a frame that would need 1 KiB more.
        let mut stream = vec![0x53, 0x00, 0x00, 0x04, 0x00];
        stream.extend_from_slice(&ack);
        assert_eq!(split(&[&stream]).len(), 1);
    }

    #[test]
    fn a_bad_check_is_no_frame() {
        let mut led = build(2, false, CMD_LED, &[0; 14], true);
        let last = led.len() - 1;
        led[last] ^= 1;
        assert!(split(&[&led]).is_empty());
    }

    #[test]
    fn the_code_follows_the_security_block() {
        // SCB of length 2, type 0x15 (SCS_15: MAC, no data); code, then a 4-byte MAC.
        let len = 5 + 2 + 1 + 4 + 2;
        let mut f = vec![
            SOM, 0x83, len as u8, 0, 0x0c, 2, 0x15, REPLY_ACK, 1, 2, 3, 4,
        ];
        let c = crc16(&f);
        f.extend_from_slice(&c.to_le_bytes());
        assert_eq!(
            split(&[&f]),
            vec![Frame {
                address: 3,
                reply: true,
                code: REPLY_ACK,
                nak_code: None
            }]
        );
    }

    #[test]
    fn garbage_never_grows_the_buffer() {
        let mut s = Splitter::default();
        for _ in 0..100 {
            s.push(&[0x53, 0x00, 0xff, 0x05][..], |_| panic!("no frame"));
            s.push(&[0u8; 100], |_| panic!("no frame"));
        }
        assert!(s.buf.len() <= MAX_LEN);
    }
}
