//! What a line link counted: frames, and what was dropped and why.

/// Counts kept by a [`crate::line::Framer`] and a [`crate::line::Decoder`]. None of what is
/// dropped becomes an event; the adapter logs it at DEBUG and may export these numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames cut out whole (before their checksum was checked).
    pub frames: u64,
    /// Frames whose checksum did not check (or was unreadable, or did not fit).
    pub bad_checksum: u64,
    /// Frames over the maximum length, dropped.
    pub oversize: u64,
    /// Frames that matched no rule, or matched one whose fields could not be used.
    pub unmatched: u64,
    /// Bytes outside any frame (before a start marker, truncated frames), dropped.
    pub garbage: u64,
}
