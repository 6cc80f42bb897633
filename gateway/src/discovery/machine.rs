//! The target service state machine (being written).
