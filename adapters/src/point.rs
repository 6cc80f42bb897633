//! Points: the values an adapter reads from or writes to a controller.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

/// Identifies one point of one controller, e.g. `panel1/coil/17`.
///
/// The mapping language gives every point a stable id; adapters only echo it back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId(pub String);

impl fmt::Display for PointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A raw value as read from, or written to, the wire (before scaling and mapping).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A coil, discrete input or a bit.
    Bool(bool),
    /// One 16-bit register.
    U16(u16),
    /// Several registers, in wire order.
    Registers(Vec<u16>),
    /// A frame or a field of a serial protocol.
    Bytes(Vec<u8>),
    /// An occurrence with named fields, as text: a card read (`Format`, `FacilityCode`,
    /// `CardNumber`, `Bits`), a panel's event frame (`Zone`, `Partition`, `User`). Reported
    /// on every occurrence, never only on a change; the mapping picks the fields its event
    /// carries.
    Record(BTreeMap<String, String>),
}

/// How far a value can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    /// Read successfully in the last poll.
    Good,
    /// The link is down: this is the last value known before it went down.
    Stale,
    /// The controller answered with an exception for this point.
    Bad,
}

/// One new reading of one point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointUpdate {
    /// Which point.
    pub id: PointId,
    /// The value read.
    pub value: Value,
    /// Whether it can be trusted.
    pub quality: Quality,
    /// When it was read.
    pub at: SystemTime,
}
