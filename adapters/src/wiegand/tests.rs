//! Recorded edge streams (tests/data/wiegand/) through the framer and the decoder.
