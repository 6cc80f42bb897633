//! Serial Wiegand converters: one ASCII line per read, back into the frame's [`Bits`].
//!
//! Converters (Wiegand to RS-232/485/USB) print each read as a number, in hex or decimal,
//! with or without the parity bits: the Priority1 WIE232-A sends the 24 data bits of a 26-bit
//! frame as 6 hex digits and CR; others send decimal digits and CR LF (southbound notes,
//! section 2.2). [`AsciiConfig`] says which; [`parse_line`] gives the whole frame, with the
//! parity bits recomputed where the converter stripped them, so [`decode`](super::decode)
//! checks the format the same way for every input (a converter that strips parity has
//! already checked it, or not: the recomputed bits always pass).

use super::bits::{Bits, BitsError};
use super::decode::set_parity;
use super::format::Format;

/// How the converter writes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Hex digits (either case, an optional `0x`).
    Hex,
    /// Decimal digits.
    Decimal,
}

impl std::str::FromStr for Encoding {
    type Err = String;

    /// `hex` or `decimal` (case-insensitive).
    fn from_str(s: &str) -> Result<Encoding, String> {
        match s.trim() {
            t if t.eq_ignore_ascii_case("hex") => Ok(Encoding::Hex),
            t if t.eq_ignore_ascii_case("decimal") => Ok(Encoding::Decimal),
            _ => Err(format!("unknown encoding {s:?}; known: hex, decimal")),
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Hex => "hex",
            Encoding::Decimal => "decimal",
        })
    }
}

/// What a converter prints for each read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsciiConfig {
    /// Hex or decimal.
    pub encoding: Encoding,
    /// Whether the number includes the parity bits; without them it holds only the data
    /// bits (the frame's bits but the parity bits, in order).
    pub includes_parity: bool,
    /// The Wiegand frame length on the reader's side (26 for H10301), parity included
    /// either way; it must be the format's length (any length for [`Format::Raw`]).
    pub bits: usize,
}

/// Why a line is not a read, or the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsciiError {
    /// The configured length is not the format's.
    #[error("the converter is set to {bits}-bit frames, but {format} frames are {expected} bits")]
    WrongBits {
        /// The format.
        format: Format,
        /// Its length.
        expected: usize,
        /// The configured length.
        bits: usize,
    },
    /// The configured length is over [`Bits::MAX`].
    #[error("{bits}-bit frames are longer than the {max} bits supported", max = Bits::MAX)]
    TooManyBits {
        /// The configured length.
        bits: usize,
    },
    /// A line with nothing but white space.
    #[error("empty line")]
    Empty,
    /// A character that is not a digit of the encoding.
    #[error("{found:?} at character {at} is not a {encoding} digit in {line:?}")]
    NotADigit {
        /// The character.
        found: char,
        /// Its position in the trimmed line (0-based).
        at: usize,
        /// `"hex"` or `"decimal"`.
        encoding: &'static str,
        /// The trimmed line.
        line: String,
    },
    /// A number that needs more bits than the converter sends.
    #[error("{line:?} needs more than {bits} bits")]
    TooLarge {
        /// The trimmed line.
        line: String,
        /// The bits the line carries (data bits only when parity is stripped).
        bits: usize,
    },
}

/// The number of bits a line carries for this format and configuration (the frame's length,
/// less the parity bits when the converter strips them).
pub fn line_bits(config: &AsciiConfig, format: Format) -> Result<usize, AsciiError> {
    if config.bits > Bits::MAX {
        return Err(AsciiError::TooManyBits { bits: config.bits });
    }
    let Some(layout) = format.layout() else {
        return Ok(config.bits);
    };
    let expected = usize::from(layout.bits);
    if config.bits != expected {
        return Err(AsciiError::WrongBits {
            format,
            expected,
            bits: config.bits,
        });
    }
    Ok(if config.includes_parity {
        expected
    } else {
        expected - layout.parity.len()
    })
}

/// Turns one line of converter output into the frame (white space and CR LF around it are
/// ignored). With stripped parity the data bits go to the non-parity positions in order and
/// the parity bits are computed; decode the result with the same `format`.
pub fn parse_line(line: &str, config: &AsciiConfig, format: Format) -> Result<Bits, AsciiError> {
    let carried = line_bits(config, format)?;
    let text = line.trim();
    if text.is_empty() {
        return Err(AsciiError::Empty);
    }
    let too_large = || AsciiError::TooLarge {
        line: text.to_owned(),
        bits: carried,
    };
    let (digits, radix, name, skip) = match config.encoding {
        Encoding::Hex => match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(rest) => (rest, 16u32, "hex", 2),
            None => (text, 16, "hex", 0),
        },
        Encoding::Decimal => (text, 10, "decimal", 0),
    };
    if digits.is_empty() {
        return Err(AsciiError::Empty);
    }
    let mut value: u128 = 0;
    for (i, c) in digits.chars().enumerate() {
        let d = c.to_digit(radix).ok_or_else(|| AsciiError::NotADigit {
            found: c,
            at: i + skip,
            encoding: name,
            line: text.to_owned(),
        })?;
        value = value
            .checked_mul(radix.into())
            .and_then(|v| v.checked_add(d.into()))
            .ok_or_else(too_large)?;
    }
    let data = Bits::from_value(value, carried).map_err(|e| match e {
        BitsError::ValueTooLarge { .. } => too_large(),
        _ => AsciiError::TooManyBits { bits: carried },
    })?;
    let Some(layout) = format.layout().filter(|_| !config.includes_parity) else {
        return Ok(data);
    };
    let mut frame = Bits::from_value(0, layout.bits.into()).unwrap_or_default();
    let mut next = data.iter();
    for p in 1..=frame.len() {
        if layout.parity.iter().all(|q| usize::from(q.at) != p) {
            frame.set(p, next.next().unwrap_or(false));
        }
    }
    set_parity(layout, &mut frame);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wiegand::{decode, encode};

    const HEX_STRIPPED: AsciiConfig = AsciiConfig {
        encoding: Encoding::Hex,
        includes_parity: false,
        bits: 26,
    };

    #[test]
    fn stripped_hex_gets_its_parity_back() {
        // FC 123 CN 4567: data bits 01111011 0001000111010111 = 0x7B11D7, as a WIE232-A
        // would print them.
        let frame = parse_line("7B11D7\r\n", &HEX_STRIPPED, Format::H10301).unwrap();
        assert_eq!(frame, encode(Format::H10301, Some(123), 4567).unwrap());
        let card = decode(&frame, Format::H10301).unwrap();
        assert_eq!((card.facility, card.number), (Some(123), 4567));
        assert_eq!(
            parse_line("0x7b11d7", &HEX_STRIPPED, Format::H10301),
            Ok(frame)
        );
        // Leading zeros may be left out.
        let one = parse_line("10001", &HEX_STRIPPED, Format::H10301).unwrap();
        assert_eq!(one, encode(Format::H10301, Some(1), 1).unwrap());
    }

    #[test]
    fn full_frames_keep_their_parity_for_the_decoder() {
        let config = AsciiConfig {
            encoding: Encoding::Decimal,
            includes_parity: true,
            bits: 26,
        };
        // 0x2F623AE: the whole 26-bit frame of FC 123 CN 4567.
        let frame = parse_line(&0x2F6_23AEu32.to_string(), &config, Format::H10301).unwrap();
        assert_eq!(decode(&frame, Format::H10301).unwrap().number, 4567);
        // Parity bit 26 flipped: the line parses, the decoder refuses it.
        let bad = parse_line(&0x2F6_23AFu32.to_string(), &config, Format::H10301).unwrap();
        assert!(decode(&bad, Format::H10301).is_err());
    }

    #[test]
    fn every_format_round_trips_through_a_stripped_line() {
        for format in Format::ALL {
            let Some(layout) = format.layout() else {
                continue;
            };
            let facility = layout.facility.map(|f| (1u32 << (f.len - 1)) | 1);
            let frame = encode(format, facility, 12345).unwrap();
            let data: String = (1..=frame.len())
                .filter(|&p| layout.parity.iter().all(|q| usize::from(q.at) != p))
                .map(|p| if frame.bit(p).unwrap() { '1' } else { '0' })
                .collect();
            let data: Bits = data.parse().unwrap();
            for (encoding, line) in [
                (Encoding::Hex, format!("{data:X}")),
                (Encoding::Decimal, data.value().to_string()),
            ] {
                let config = AsciiConfig {
                    encoding,
                    includes_parity: false,
                    bits: layout.bits.into(),
                };
                assert_eq!(parse_line(&line, &config, format), Ok(frame), "{format}");
            }
        }
    }

    #[test]
    fn raw_lines_take_the_configured_length() {
        let config = AsciiConfig {
            encoding: Encoding::Decimal,
            includes_parity: false,
            bits: 32,
        };
        let b = parse_line("4294967295", &config, Format::Raw).unwrap();
        assert_eq!((b.len(), b.value()), (32, u128::from(u32::MAX)));
        assert_eq!(
            parse_line("4294967296", &config, Format::Raw),
            Err(AsciiError::TooLarge {
                line: "4294967296".into(),
                bits: 32
            })
        );
        let wide = AsciiConfig {
            encoding: Encoding::Hex,
            includes_parity: true,
            bits: 128,
        };
        assert!(parse_line(&"f".repeat(32), &wide, Format::Raw).is_ok());
        assert!(matches!(
            parse_line(&"f".repeat(33), &wide, Format::Raw),
            Err(AsciiError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_line(&"9".repeat(60), &wide, Format::Raw),
            Err(AsciiError::TooLarge { .. })
        ));
    }

    #[test]
    fn encodings_have_names() {
        for e in [Encoding::Hex, Encoding::Decimal] {
            assert_eq!(e.to_string().parse::<Encoding>(), Ok(e));
        }
        assert_eq!("HEX".parse::<Encoding>(), Ok(Encoding::Hex));
        assert_eq!(
            "octal".parse::<Encoding>(),
            Err("unknown encoding \"octal\"; known: hex, decimal".to_owned())
        );
    }

    #[test]
    fn bad_lines_and_configurations_say_why() {
        let err = |line: &str| parse_line(line, &HEX_STRIPPED, Format::H10301).unwrap_err();
        assert_eq!(err("  \r\n"), AsciiError::Empty);
        assert_eq!(err("0x"), AsciiError::Empty);
        assert_eq!(
            err("7B11G7").to_string(),
            "'G' at character 4 is not a hex digit in \"7B11G7\""
        );
        assert_eq!(
            err("1000000").to_string(),
            "\"1000000\" needs more than 24 bits"
        );
        assert_eq!(
            parse_line("1", &HEX_STRIPPED, Format::H10306)
                .unwrap_err()
                .to_string(),
            "the converter is set to 26-bit frames, but h10306 frames are 34 bits"
        );
        let too_many = AsciiConfig {
            bits: 129,
            ..HEX_STRIPPED
        };
        assert_eq!(
            parse_line("1", &too_many, Format::Raw),
            Err(AsciiError::TooManyBits { bits: 129 })
        );
        let decimal = AsciiConfig {
            encoding: Encoding::Decimal,
            ..HEX_STRIPPED
        };
        assert!(matches!(
            parse_line("12a", &decimal, Format::H10301),
            Err(AsciiError::NotADigit {
                found: 'a',
                at: 2,
                ..
            })
        ));
        assert!(matches!(
            parse_line("+12", &decimal, Format::H10301),
            Err(AsciiError::NotADigit {
                found: '+',
                at: 0,
                ..
            })
        ));
    }
}
