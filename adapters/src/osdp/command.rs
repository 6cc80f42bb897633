//! What the driver reports ([`OsdpReport`]) and what it can be asked to do ([`OsdpCommand`]).
//! Plain data, always compiled.

use std::time::Duration;

use crate::wiegand::Bits;

/// A reader by its position in [`super::BusConfig::pds`].
pub type PdIndex = usize;

/// How a reader labelled the raw bits of a card read (`osdp_RAW`'s format byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawFormat {
    /// Format 0: "not specified", raw bits.
    Unspecified,
    /// Format 1: a Wiegand frame, parity bits included.
    Wiegand,
}

/// Something that happened on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OsdpReport {
    /// The reader answers (after its identification, capabilities and, if keyed, the secure
    /// channel handshake). `secure`: the secure channel is up with the reader's own key
    /// (never with the default SCBK-D). A reader with a key or in install mode is reported
    /// online only with `secure: true`: in plain text it is offline and what it sends is
    /// dropped; `secure: false` happens only with [`super::SecureChannel::Off`].
    Online {
        /// Which reader.
        pd: PdIndex,
        /// Whether the secure channel is active.
        secure: bool,
    },
    /// The reader stopped answering, the library took it offline, or the port failed.
    /// Reported once per outage (and once at start for a reader that never answered).
    Offline {
        /// Which reader.
        pd: PdIndex,
        /// Why (for logs).
        reason: String,
    },
    /// Install mode finished: the reader took the fresh key with `osdp_KEYSET`, the secure
    /// channel is up with it, and the key is in its key file. Later starts use that key only.
    KeyInstalled {
        /// Which reader.
        pd: PdIndex,
    },
    /// A card read delivered as raw bits (`osdp_RAW`): decode it with the reader's Wiegand
    /// format ([`crate::wiegand::decode`]).
    CardRead {
        /// Which reader (PD).
        pd: PdIndex,
        /// The reader number within the PD (0 for a single reader).
        reader: u8,
        /// How the reader labelled the bits.
        format: RawFormat,
        /// The bits, first sent first.
        bits: Bits,
    },
    /// Keys pressed on the reader's keypad (`osdp_KEYPAD`), as sent: ASCII digits, `0x7F`
    /// for `*` and `0x0D` for `#`.
    Keypad {
        /// Which reader (PD).
        pd: PdIndex,
        /// The reader number within the PD.
        reader: u8,
        /// The keys, in the order pressed.
        keys: Vec<u8>,
    },
    /// The reader's tamper switch (`osdp_LSTATR`).
    Tamper {
        /// Which reader.
        pd: PdIndex,
        /// Tampered with (opened, taken off the wall).
        active: bool,
    },
    /// The reader's power (`osdp_LSTATR`).
    Power {
        /// Which reader.
        pd: PdIndex,
        /// Power normal (false: the reader reports a power failure).
        ok: bool,
    },
    /// The reader's contact inputs (`osdp_ISTATR`), input 0 first.
    Inputs {
        /// Which reader.
        pd: PdIndex,
        /// Active (true) or not, per input.
        states: Vec<bool>,
    },
}

impl OsdpReport {
    /// The reader it is about.
    pub fn pd(&self) -> PdIndex {
        match *self {
            OsdpReport::Online { pd, .. }
            | OsdpReport::Offline { pd, .. }
            | OsdpReport::KeyInstalled { pd }
            | OsdpReport::CardRead { pd, .. }
            | OsdpReport::Keypad { pd, .. }
            | OsdpReport::Tamper { pd, .. }
            | OsdpReport::Power { pd, .. }
            | OsdpReport::Inputs { pd, .. } => pd,
        }
    }
}

/// The colours of a reader LED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedColor {
    /// Off (black).
    Off,
    /// Red.
    Red,
    /// Green.
    Green,
    /// Amber.
    Amber,
    /// Blue.
    Blue,
    /// Magenta.
    Magenta,
    /// Cyan.
    Cyan,
}

/// An LED pattern: `on_color` for `on`, then `off_color` for `off`, repeated. Times are sent
/// in units of 100 ms (rounded down; at most 25.5 s each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedPattern {
    /// The colour of the on phase.
    pub on_color: LedColor,
    /// The colour of the off phase.
    pub off_color: LedColor,
    /// How long the on phase lasts (zero: the LED shows `off_color` steadily).
    pub on: Duration,
    /// How long the off phase lasts (zero: the LED shows `on_color` steadily).
    pub off: Duration,
}

impl LedPattern {
    /// The LED steadily in `color` ([`LedColor::Off`]: dark).
    pub fn steady(color: LedColor) -> LedPattern {
        LedPattern {
            on_color: color,
            off_color: color,
            on: Duration::from_millis(100),
            off: Duration::ZERO,
        }
    }

    /// Blinking between `on_color` and `off_color`.
    pub fn blink(on_color: LedColor, off_color: LedColor, on: Duration, off: Duration) -> Self {
        LedPattern {
            on_color,
            off_color,
            on,
            off,
        }
    }
}

/// What an LED command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedAction {
    /// The LED's permanent state (cancels nothing temporary that runs).
    Permanent(LedPattern),
    /// A temporary pattern for `duration` (100 ms units, at most 6553.5 s), then the
    /// permanent state again.
    Temporary {
        /// The pattern.
        pattern: LedPattern,
        /// How long.
        duration: Duration,
    },
    /// Ends a temporary pattern now (back to the permanent state).
    CancelTemporary,
}

/// `osdp_LED`: one LED of one reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Led {
    /// The reader number within the PD (0 for a single reader).
    pub reader: u8,
    /// The LED number (0 is the main LED).
    pub led: u8,
    /// What to do.
    pub action: LedAction,
}

/// `osdp_BUZ`: the reader's buzzer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buzzer {
    /// Silence.
    Off,
    /// The default tone: `on`, then `off`, `repeat` times (0: until told otherwise). Times in
    /// 100 ms units (at most 25.5 s).
    Tone {
        /// The reader number within the PD.
        reader: u8,
        /// How long each beep lasts.
        on: Duration,
        /// The pause between beeps.
        off: Duration,
        /// How many beeps (0: continuous).
        repeat: u8,
    },
}

/// What an output (relay) command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputAction {
    /// Permanently off (cancels a timed operation).
    Off,
    /// Permanently on (cancels a timed operation).
    On,
    /// On for this long (100 ms units, at most 6553.5 s), then back to its permanent state.
    Pulse(Duration),
}

/// `osdp_OUT`: one of the reader's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// The output number (0 first).
    pub output: u8,
    /// What to do.
    pub action: OutputAction,
}

/// A command to one reader; answered once the reader acknowledged it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsdpCommand {
    /// An LED.
    Led(Led),
    /// The buzzer.
    Buzzer(Buzzer),
    /// An output.
    Output(Output),
}

/// Why a command did not take effect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No reader with that index on this bus.
    #[error("no reader {0} on this bus")]
    NoSuchPd(PdIndex),
    /// The reader is offline (or went offline before it answered).
    #[error("reader offline: {0}")]
    Offline(String),
    /// The reader answered `osdp_NAK` (with its error code, when it was not encrypted).
    #[error("the reader refused the command (NAK{})", .0.map(|c| format!(" code {c}")).unwrap_or_default())]
    Refused(Option<u8>),
    /// The library's command queue for the reader is full (four commands wait already).
    #[error("the reader's command queue is full")]
    Busy,
    /// No acknowledgement within the command timeout.
    #[error("no acknowledgement within {0:?}")]
    Timeout(Duration),
    /// The driver stopped.
    #[error("the OSDP driver has stopped")]
    Stopped,
}
