//! WS-Discovery messages (being written).
