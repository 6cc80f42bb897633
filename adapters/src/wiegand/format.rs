//! The format table: each Wiegand format as data (length, parity bits, fields).
//!
//! Positions count from 1, the first bit sent (as HID's and most vendors' descriptions do).
//! A parity bit makes the number of ones among its covered bits **and itself** even (or odd).
//!
//! Sources (checked against each other; they agree on every layout here):
//! - RfidResearchGroup/proxmark3, `client/src/wiegand_formats.c`: `Pack_`/`Unpack_H10301`,
//!   `H10306`, `C1k35s`, `H10302`, `H10304`, `C1k48s` (0-based positions and 32-bit masks
//!   such as `0xB6DB6DB6`; converted to 1-based positions in /work/shared/notes/southbound.md
//!   section 2.3).
//! - z9security/z9open-community, `dotnet/Z9.Protobuf.Community/CommonDataFormats.cs`:
//!   the same formats as start/length fields and parity elements with masks
//!   (`"110110110..."`), 0-based.
//! - The 26-bit layout as published by RF IDeas ("Proximity card formats": `PFFFFFFFFBBBB
//!   BBBBBBBBBBBBP`, even parity over the first 12 data bits, odd over the last 12) and HID's
//!   "Understanding Card Data Formats".
//!
//! | Format | Bits | Facility | Number | Parity |
//! |---|---|---|---|---|
//! | `h10301` | 26 | 2–9 (8) | 10–25 (16) | 1 even over 2–13; 26 odd over 14–25 |
//! | `h10306` | 34 | 2–17 (16) | 18–33 (16) | 1 even over 2–17; 34 odd over 18–33 |
//! | `corporate1000-35` | 35 | 3–14 (12) | 15–34 (20) | 2 even over 3–34 except 5, 8, …, 32; 35 odd over 2–33 except 4, 7, …, 31; 1 odd over 2–35 |
//! | `h10302` | 37 | — | 2–36 (35) | 1 even over 2–19; 37 odd over 19–36 |
//! | `h10304` | 37 | 2–17 (16) | 18–36 (19) | 1 even over 2–19; 37 odd over 19–36 |
//! | `corporate1000-48` | 48 | 3–24 (22) | 25–47 (23) | 2 even over 4–47 except 6, 9, …, 45; 48 odd over 3–46 except 5, 8, …, 44; 1 odd over 2–48 |
//! | `raw` | any | — | all bits | none |
//!
//! In H10302/H10304 bit 19 is covered by both parity bits. In the Corporate 1000 formats the
//! bit-35 (bit-48) parity covers the bit-2 parity, and bit 1 covers both: they are computed in
//! the order listed.

use std::fmt;
use std::str::FromStr;

/// A Wiegand card format, chosen by the integrator per reader (the bit length alone does not
/// identify a format: several 34-, 36- and 37-bit layouts exist).
///
/// Names ([`Format::name`], [`FromStr`], case-insensitive): `h10301`, `h10306` (alias
/// `34bit`), `corporate1000-35`, `h10302`, `h10304`, `corporate1000-48`, `raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// HID H10301, the 26-bit standard: 8-bit facility code, 16-bit card number.
    H10301,
    /// HID H10306 (also N10002), 34 bits: 16-bit facility code, 16-bit card number, even/odd
    /// parity over the halves.
    H10306,
    /// HID Corporate 1000, 35 bits: 12-bit company ID (as the facility), 20-bit card number.
    Corporate35,
    /// HID H10302, 37 bits: a 35-bit card number, no facility code.
    H10302,
    /// HID H10304, 37 bits: 16-bit facility code, 19-bit card number.
    H10304,
    /// HID Corporate 1000, 48 bits: 22-bit company ID (as the facility), 23-bit card number.
    Corporate48,
    /// Any length, no parity, no facility: the number is the frame's value.
    Raw,
}

/// Even or odd parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParityKind {
    /// The covered bits and the parity bit hold an even number of ones.
    Even,
    /// The covered bits and the parity bit hold an odd number of ones.
    Odd,
}

/// One parity bit of a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parity {
    /// Its position (from 1).
    pub at: u8,
    /// Even or odd.
    pub kind: ParityKind,
    /// The positions it covers: bit `p - 1` set for position `p` (never its own).
    pub covers: u128,
}

/// A run of bits holding a number, the first most significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// The first position (from 1).
    pub first: u8,
    /// The number of bits.
    pub len: u8,
}

/// A format's layout: the row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The frame length in bits.
    pub bits: u8,
    /// The facility code (company ID for Corporate 1000), if the format has one.
    pub facility: Option<Field>,
    /// The card number.
    pub number: Field,
    /// The parity bits, in the order they are computed (a later one may cover an earlier).
    pub parity: &'static [Parity],
}

/// Positions `first..=last` as a mask (bit `p - 1` for position `p`).
const fn span(first: u8, last: u8) -> u128 {
    let mut mask = 0u128;
    let mut p = first;
    while p <= last {
        mask |= 1 << (p - 1);
        p += 1;
    }
    mask
}

/// Positions `first..=last` except those with `p % 3 == skip` (the Corporate 1000 masks).
const fn every_third_skipped(first: u8, last: u8, skip: u8) -> u128 {
    let mut mask = 0u128;
    let mut p = first;
    while p <= last {
        if p % 3 != skip {
            mask |= 1 << (p - 1);
        }
        p += 1;
    }
    mask
}

const fn even(at: u8, covers: u128) -> Parity {
    Parity {
        at,
        kind: ParityKind::Even,
        covers,
    }
}

const fn odd(at: u8, covers: u128) -> Parity {
    Parity {
        at,
        kind: ParityKind::Odd,
        covers,
    }
}

const fn field(first: u8, len: u8) -> Field {
    Field { first, len }
}

static H10301: Layout = Layout {
    bits: 26,
    facility: Some(field(2, 8)),
    number: field(10, 16),
    parity: &[even(1, span(2, 13)), odd(26, span(14, 25))],
};

static H10306: Layout = Layout {
    bits: 34,
    facility: Some(field(2, 16)),
    number: field(18, 16),
    parity: &[even(1, span(2, 17)), odd(34, span(18, 33))],
};

static CORPORATE_35: Layout = Layout {
    bits: 35,
    facility: Some(field(3, 12)),
    number: field(15, 20),
    parity: &[
        even(2, every_third_skipped(3, 34, 2)),
        odd(35, every_third_skipped(2, 33, 1)),
        odd(1, span(2, 35)),
    ],
};

static H10302: Layout = Layout {
    bits: 37,
    facility: None,
    number: field(2, 35),
    parity: &[even(1, span(2, 19)), odd(37, span(19, 36))],
};

static H10304: Layout = Layout {
    bits: 37,
    facility: Some(field(2, 16)),
    number: field(18, 19),
    parity: &[even(1, span(2, 19)), odd(37, span(19, 36))],
};

static CORPORATE_48: Layout = Layout {
    bits: 48,
    facility: Some(field(3, 22)),
    number: field(25, 23),
    parity: &[
        even(2, every_third_skipped(4, 47, 0)),
        odd(48, every_third_skipped(3, 46, 2)),
        odd(1, span(2, 48)),
    ],
};

/// Every name [`Format`] parses from, with the format (aliases included).
const NAMES: &[(&str, Format)] = &[
    ("h10301", Format::H10301),
    ("h10306", Format::H10306),
    ("34bit", Format::H10306),
    ("corporate1000-35", Format::Corporate35),
    ("h10302", Format::H10302),
    ("h10304", Format::H10304),
    ("corporate1000-48", Format::Corporate48),
    ("raw", Format::Raw),
];

impl Format {
    /// Every format, in table order.
    pub const ALL: [Format; 7] = [
        Format::H10301,
        Format::H10306,
        Format::Corporate35,
        Format::H10302,
        Format::H10304,
        Format::Corporate48,
        Format::Raw,
    ];

    /// The canonical name (what [`FromStr`] reads and [`Display`](fmt::Display) writes).
    pub fn name(self) -> &'static str {
        match self {
            Format::H10301 => "h10301",
            Format::H10306 => "h10306",
            Format::Corporate35 => "corporate1000-35",
            Format::H10302 => "h10302",
            Format::H10304 => "h10304",
            Format::Corporate48 => "corporate1000-48",
            Format::Raw => "raw",
        }
    }

    /// The layout; `None` for [`Format::Raw`].
    pub fn layout(self) -> Option<&'static Layout> {
        match self {
            Format::H10301 => Some(&H10301),
            Format::H10306 => Some(&H10306),
            Format::Corporate35 => Some(&CORPORATE_35),
            Format::H10302 => Some(&H10302),
            Format::H10304 => Some(&H10304),
            Format::Corporate48 => Some(&CORPORATE_48),
            Format::Raw => None,
        }
    }

    /// The frame length; `None` for [`Format::Raw`] (any length).
    pub fn bits(self) -> Option<usize> {
        self.layout().map(|l| usize::from(l.bits))
    }

    /// The names [`FromStr`] accepts, aliases included, for help texts.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _)| *n)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Wiegand format {name:?}; known formats: {}", NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
pub struct UnknownFormat {
    /// The name given.
    pub name: String,
}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        let wanted = s.trim();
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
            .map(|(_, f)| *f)
            .ok_or_else(|| UnknownFormat { name: s.to_owned() })
    }
}

impl fmt::Display for ParityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParityKind::Even => "even",
            ParityKind::Odd => "odd",
        })
    }
}

impl Parity {
    /// Whether position `p` (from 1) is covered.
    pub fn covers_bit(&self, p: usize) -> bool {
        (1..=128).contains(&p) && self.covers >> (p - 1) & 1 == 1
    }
}

/// `bit 1 (even parity over bits 2-13)`; long irregular sets as `22 bits of 3-34`.
impl fmt::Display for Parity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for p in (1..=128).filter(|&p| self.covers_bit(p)) {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == p => *last = p,
                _ => runs.push((p, p)),
            }
        }
        write!(f, "bit {} ({} parity over ", self.at, self.kind)?;
        match runs.as_slice() {
            [] => f.write_str("no bits")?,
            [(a, b)] => write!(f, "bits {a}-{b}")?,
            [(a, _), .., (_, b)] => write!(f, "{} bits of {a}-{b}", self.covers.count_ones())?,
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            assert_eq!(f.to_string(), f.name());
        }
        assert_eq!("34bit".parse::<Format>(), Ok(Format::H10306));
        assert_eq!(" H10301 ".parse::<Format>(), Ok(Format::H10301));
        assert_eq!(
            "Corporate1000-35".parse::<Format>(),
            Ok(Format::Corporate35)
        );
        let err = "h10303".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown Wiegand format \"h10303\"; known formats: h10301, h10306, 34bit, \
             corporate1000-35, h10302, h10304, corporate1000-48, raw"
        );
    }

    /// Every layout is well formed: fields and parity inside the frame, no two fields or
    /// parity bits on one position, every position used, a parity bit never covers itself or
    /// a parity bit computed after it.
    #[test]
    fn layouts_are_consistent() {
        for f in Format::ALL {
            let Some(l) = f.layout() else { continue };
            let bits = usize::from(l.bits);
            let mut used = vec![0u8; bits + 1];
            let fields = l.facility.iter().chain(std::iter::once(&l.number));
            for fd in fields {
                for p in fd.first..fd.first + fd.len {
                    used[usize::from(p)] += 1;
                }
            }
            for (i, p) in l.parity.iter().enumerate() {
                used[usize::from(p.at)] += 1;
                assert!(!p.covers_bit(usize::from(p.at)), "{f}: {p} covers itself");
                assert_eq!(p.covers >> bits, 0, "{f}: {p} covers past the frame");
                for later in &l.parity[i + 1..] {
                    assert!(
                        !p.covers_bit(usize::from(later.at)),
                        "{f}: {p} covers {later}"
                    );
                }
            }
            assert!(
                used[1..].iter().all(|&n| n == 1),
                "{f}: positions used {used:?}"
            );
        }
    }

    /// The masks agree with the proxmark3 32-bit masks and the Z9 mask strings, and describe
    /// themselves readably.
    #[test]
    fn corporate_masks_match_the_sources() {
        // proxmark3 Pack_C1k35s: Bot holds positions 4..=35 (Bot bit k = position 35 - k),
        // Mid bits 0 and 1 positions 3 and 2.
        let bot35 = |mask: u128| -> u32 {
            (4..=35)
                .filter(|&p| mask >> (p - 1) & 1 == 1)
                .fold(0, |acc, p| acc | 1 << (35 - p))
        };
        let p = CORPORATE_35.parity;
        assert_eq!(bot35(p[0].covers), 0xB6DB6DB6);
        assert!(p[0].covers_bit(3) && !p[0].covers_bit(2));
        assert_eq!(bot35(p[1].covers), 0x6DB6DB6C);
        assert!(p[1].covers_bit(2) && p[1].covers_bit(3));
        // Pack_C1k48s: Bot holds positions 17..=48, Mid bit j position 16 - j.
        let split48 = |mask: u128| -> (u32, u32) {
            (1..=48)
                .filter(|&p| mask >> (p - 1) & 1 == 1)
                .fold((0, 0), |(mid, bot), p| {
                    if p >= 17 {
                        (mid, bot | 1 << (48 - p))
                    } else {
                        (mid | 1 << (16 - p), bot)
                    }
                })
        };
        let p = CORPORATE_48.parity;
        assert_eq!(split48(p[0].covers), (0x1B6D, 0xB6DB6DB6));
        assert_eq!(split48(p[1].covers), (0x36DB, 0x6DB6DB6C));
        assert_eq!(split48(p[2].covers), (0x7FFF, 0xFFFFFFFF));
        assert_eq!(
            H10301.parity[0].to_string(),
            "bit 1 (even parity over bits 2-13)"
        );
        assert_eq!(
            CORPORATE_35.parity[0].to_string(),
            "bit 2 (even parity over 22 bits of 3-34)"
        );
    }
}
