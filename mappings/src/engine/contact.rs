//! Wire bit ⇄ electrical state ⇄ logical state, for digital inputs and relays alike.
//!
//! The wire bit, after `invert`, is the electrical state: `true` = contact closed (for a relay:
//! energised). The logical state ONVIF reports (*active*) is whether the electrical state
//! differs from the configured idle state.

use crate::plan::IdleState;

/// Whether the contact is closed, given the wire bit and the point's `invert`.
pub fn contact_closed(wire: bool, invert: bool) -> bool {
    wire != invert
}

/// Whether a contact in electrical state `closed` is active for idle state `idle`.
pub fn is_active(closed: bool, idle: IdleState) -> bool {
    closed != (idle == IdleState::Closed)
}

/// The wire bit that puts a contact with idle state `idle` and `invert` into logical state
/// `active`.
pub fn wire_for(active: bool, idle: IdleState, invert: bool) -> bool {
    let closed = active != (idle == IdleState::Closed);
    closed != invert
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (wire, invert, idle) → active: all eight combinations.
    const TABLE: [(bool, bool, IdleState, bool); 8] = [
        (false, false, IdleState::Open, false),
        (true, false, IdleState::Open, true),
        (false, true, IdleState::Open, true),
        (true, true, IdleState::Open, false),
        (false, false, IdleState::Closed, true),
        (true, false, IdleState::Closed, false),
        (false, true, IdleState::Closed, false),
        (true, true, IdleState::Closed, true),
    ];

    #[test]
    fn logic_table() {
        for (wire, invert, idle, active) in TABLE {
            let closed = contact_closed(wire, invert);
            assert_eq!(closed, wire != invert);
            assert_eq!(is_active(closed, idle), active, "{wire} {invert} {idle:?}");
        }
    }

    #[test]
    fn wire_for_inverts_the_table() {
        for (wire, invert, idle, active) in TABLE {
            assert_eq!(
                wire_for(active, idle, invert),
                wire,
                "{active} {invert} {idle:?}"
            );
        }
    }
}
