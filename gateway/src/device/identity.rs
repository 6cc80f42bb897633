//! The device's identity.

/// What GetDeviceInformation reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Serial number (stable across restarts).
    pub serial_number: String,
    /// Hardware id.
    pub hardware_id: String,
}
