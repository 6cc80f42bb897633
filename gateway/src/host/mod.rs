//! The host the gateway runs on, for the ONVIF device service: `backend.rs` is the one seam
//! (`HostBackend`, configuration `host.backend`) through which it is read and changed;
//! `settings.rs` the changes as plain values and their shared checks; `tz.rs` POSIX TZ
//! rules; `sandbox.rs` a host in a folder.
//!
//! The real-host readers (`net`, `clock`) are read-only: they read `getifaddrs(3)`,
//! `/sys/class/net`, `/proc/net/route`, `/proc/net/ipv6_route`,
//! `/proc/sys/kernel/hostname`, `/etc/resolv.conf`, the NTP client
//! configurations (systemd-timesyncd, chrony, ntpd), DHCP lease files,
//! `/etc/localtime` / `$TZ`, `localtime_r(3)` and `ntp_adjtime(2)` in read
//! mode. Nothing is ever written, and no environment variable is set.
//!
//! Readers never panic: a missing or unreadable source yields an empty
//! value, `None` or `false`, and is logged at `debug` level only. The pure
//! `parse_*` functions take file contents so they can be tested anywhere.

pub mod backend;
pub mod clock;
pub mod net;
mod networkmanager;
pub mod sandbox;
pub mod settings;
pub mod systemd;
pub mod tz;
pub mod zones;

pub use backend::{BackendKind, HostBackend};

use std::path::Path;

/// Reads a whole file as UTF-8 (lossily), logging failures at debug level.
fn read_text(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "cannot read host file");
            None
        }
    }
}
