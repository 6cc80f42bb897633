//! Firmware upgrade (StartFirmwareUpgrade): a signed release package (`package.rs`) is
//! verified in full, installed beside the running program and tried (`install.rs`): confirmed
//! once it answers, rolled back if it does not within the trial time. Where programs are
//! installed is the host backend's choice (`HostBackend::firmware_dir`): `none` has no place
//! and refuses; `sandbox` uses `<host.root>/firmware`, `systemd` `<data_dir>/firmware`.

pub mod install;
pub mod package;
