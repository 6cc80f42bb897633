//! Tests of the line codec: checksum vectors, framers, and two protocols end to end (the
//! DSC IT-100 text protocol, a binary start/length/CRC example).

#[cfg(feature = "runtime")]
mod adapter;
mod binary;
mod checksums;
mod framing;
mod it100;
mod templates;

/// Bytes for a message in a test: a string's bytes.
fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}
