//! SetSystemFactoryDefault's effect on the state database, applied while nothing runs (after
//! the clean stop, before railgate starts again), in one transaction.
//!
//! Both kinds reset what clients changed: the configurable scopes (back to the configured
//! name and location), the discovery mode (Discoverable), the access policy (Core's
//! default), the relay, input and serial-port
//! settings (back to the mapping's). Both keep what makes the device itself: its serial
//! number, its WS-Discovery endpoint reference and message counters (clients and discovery
//! proxies know the device by them), and the OSDP readers' installed keys (in the data folder:
//! the readers keep them too, and only an installer can reset a reader).
//! - **Soft** keeps every Administrator account, so whoever asked keeps access, and deletes
//!   the others.
//! - **Hard** deletes every account: the next start creates `admin` as on first start (the
//!   password from `RAILGATE_ADMIN_PASSWORD_FILE` or the systemd credential when the service
//!   has one, else a random one in `initial-admin-password`).
//!
//! - The HTTP ports a client set (SetNetworkProtocols, `network.*`) are network settings:
//!   Soft keeps them, Hard forgets them (the next start serves `server.listen`).
//!
//! The host's network settings (Soft keeps them, Hard resets them through the host backend)
//! and the event store (Soft keeps it, Hard deletes it) are the callers' part.

use std::path::Path;

use super::{StateDb, StateError};

/// `tt:FactoryDefaultType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactoryDefault {
    /// Keep network settings and the Administrators.
    Soft,
    /// Everything back to factory settings.
    Hard,
}

/// The settings keys clients' changes live under (the rest belongs to the device).
const CLIENT_SETTINGS: &[&str] = &["scopes_initialized", "discovery_mode", "access_policy"];
const CLIENT_SETTING_PREFIXES: &[&str] = &["deviceio."];
/// The network settings railgate itself keeps (Hard only).
const NETWORK_PREFIX: &str = "network.";

/// Whether a settings key holds something a client set (a factory default resets it, a
/// backup carries it), as opposed to the device's own facts.
pub fn is_client_setting(key: &str) -> bool {
    CLIENT_SETTINGS.contains(&key)
        || CLIENT_SETTING_PREFIXES.iter().any(|p| key.starts_with(p))
        || key.starts_with(NETWORK_PREFIX)
}

/// Applies `kind` to the state database in `data_dir`.
pub fn reset(data_dir: &Path, kind: FactoryDefault) -> Result<(), StateError> {
    let db = StateDb::open(data_dir)?;
    db.with(|c| {
        let tx = c.transaction()?;
        match kind {
            FactoryDefault::Soft => {
                tx.execute("DELETE FROM users WHERE level <> 'Administrator'", [])?;
            }
            FactoryDefault::Hard => {
                tx.execute("DELETE FROM users", [])?;
                tx.execute(
                    "DELETE FROM settings WHERE substr(key, 1, length(?1)) = ?1",
                    [NETWORK_PREFIX],
                )?;
            }
        }
        tx.execute("DELETE FROM scopes", [])?;
        for key in CLIENT_SETTINGS {
            tx.execute("DELETE FROM settings WHERE key = ?1", [key])?;
        }
        for prefix in CLIENT_SETTING_PREFIXES {
            tx.execute(
                "DELETE FROM settings WHERE substr(key, 1, length(?1)) = ?1",
                [prefix],
            )?;
        }
        tx.commit()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(dir: &Path) -> StateDb {
        let db = StateDb::open(dir).unwrap();
        db.with(|c| {
            c.execute_batch(
                "INSERT INTO users VALUES ('admin', 'x', 'Administrator');
                 INSERT INTO users VALUES ('second-admin', 'x', 'Administrator');
                 INSERT INTO users VALUES ('op', 'x', 'Operator');
                 INSERT INTO users VALUES ('viewer', 'x', 'User');",
            )?;
            Ok(())
        })
        .unwrap();
        db.set_scopes(&["onvif://www.onvif.org/name/changed".into()])
            .unwrap();
        for (k, v) in [
            ("discovery_mode", "NonDiscoverable"),
            ("deviceio.relay.R1", "{}"),
            ("deviceio.serial.P1", "{}"),
            ("serial_number", "RG0123"),
            ("endpoint_reference", "urn:uuid:1"),
            ("discovery.metadata_version", "7"),
            ("network.http_ports", "8000"),
        ] {
            db.set_setting(k, v).unwrap();
        }
        db
    }

    fn users(db: &StateDb) -> Vec<String> {
        db.with(|c| {
            let mut s = c.prepare("SELECT username FROM users ORDER BY username")?;
            let names = s
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(names)
        })
        .unwrap()
    }

    #[test]
    fn soft_keeps_administrators_and_the_device_and_resets_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        drop(seeded(dir.path()));
        reset(dir.path(), FactoryDefault::Soft).unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        assert_eq!(users(&db), ["admin", "second-admin"]);
        assert_eq!(db.scopes().unwrap(), None);
        assert_eq!(db.setting("discovery_mode").unwrap(), None);
        assert_eq!(db.setting("deviceio.relay.R1").unwrap(), None);
        assert_eq!(db.setting("deviceio.serial.P1").unwrap(), None);
        assert_eq!(
            db.setting("serial_number").unwrap().as_deref(),
            Some("RG0123")
        );
        assert_eq!(
            db.setting("endpoint_reference").unwrap().as_deref(),
            Some("urn:uuid:1")
        );
        assert_eq!(
            db.setting("discovery.metadata_version").unwrap().as_deref(),
            Some("7")
        );
        assert_eq!(
            db.setting("network.http_ports").unwrap().as_deref(),
            Some("8000")
        );
    }

    #[test]
    fn hard_deletes_every_account_too() {
        let dir = tempfile::tempdir().unwrap();
        drop(seeded(dir.path()));
        reset(dir.path(), FactoryDefault::Hard).unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        assert!(users(&db).is_empty());
        assert_eq!(db.setting("network.http_ports").unwrap(), None);
        assert_eq!(
            db.setting("serial_number").unwrap().as_deref(),
            Some("RG0123")
        );
    }
}
