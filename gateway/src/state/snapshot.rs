//! What clients set, read out of the state database and written back (system backup and
//! restore): the users, the configurable scopes and the client settings (the same keys a
//! factory default resets: `state::factory`). The device's own rows (serial number, endpoint
//! reference, WS-Discovery counters) are neither taken nor replaced: a restored box keeps
//! its identity.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::factory::is_client_setting;
use super::{StateDb, StateError};

/// One user row (the level as its text: the caller checks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// User name.
    pub username: String,
    /// Password, as stored.
    pub password: String,
    /// Level text (`Administrator`, `Operator`, `User`).
    pub level: String,
}

/// The rows a backup carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// Every user.
    pub users: Vec<UserRow>,
    /// The configurable scopes; `None` if clients never changed them.
    pub scopes: Option<Vec<String>>,
    /// The client settings.
    pub settings: BTreeMap<String, String>,
}

/// Reads the snapshot.
pub fn take(db: &StateDb) -> Result<StateSnapshot, StateError> {
    let scopes = db.scopes()?;
    db.with(|c| {
        let mut stmt =
            c.prepare("SELECT username, password, level FROM users ORDER BY username")?;
        let users = stmt
            .query_map([], |r| {
                Ok(UserRow {
                    username: r.get(0)?,
                    password: r.get(1)?,
                    level: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = c.prepare("SELECT key, value FROM settings ORDER BY key")?;
        let settings = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .filter(|kv| kv.as_ref().map_or(true, |(k, _)| is_client_setting(k)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(StateSnapshot {
            users,
            scopes,
            settings,
        })
    })
}

/// Replaces users, scopes and client settings by `snapshot`, in one transaction. Settings
/// that are not client settings are ignored (a backup cannot set the device's identity).
pub fn restore(db: &StateDb, snapshot: &StateSnapshot) -> Result<(), StateError> {
    db.with(|c| {
        let tx = c.transaction()?;
        tx.execute("DELETE FROM users", [])?;
        for u in &snapshot.users {
            tx.execute(
                "INSERT INTO users (username, password, level) VALUES (?1, ?2, ?3)",
                params![u.username, u.password, u.level],
            )?;
        }
        tx.execute("DELETE FROM scopes", [])?;
        let client_keys: Vec<String> = {
            let mut stmt = tx.prepare("SELECT key FROM settings")?;
            let keys = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            keys.into_iter().filter(|k| is_client_setting(k)).collect()
        };
        for k in client_keys {
            tx.execute("DELETE FROM settings WHERE key = ?1", [k])?;
        }
        if let Some(scopes) = &snapshot.scopes {
            for (i, uri) in scopes.iter().enumerate() {
                tx.execute(
                    "INSERT INTO scopes (position, uri) VALUES (?1, ?2)",
                    params![i as i64, uri],
                )?;
            }
        }
        for (k, v) in snapshot
            .settings
            .iter()
            .filter(|(k, _)| is_client_setting(k))
        {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_moves_users_scopes_and_client_settings_but_not_the_identity() {
        let from = tempfile::tempdir().unwrap();
        let a = StateDb::open(from.path()).unwrap();
        a.with(|c| {
            c.execute_batch(
                "INSERT INTO users VALUES ('admin', 'pw1', 'Administrator');
                 INSERT INTO users VALUES ('op', 'pw2', 'Operator');",
            )?;
            Ok(())
        })
        .unwrap();
        a.set_scopes(&["onvif://www.onvif.org/name/lobby".into()])
            .unwrap();
        a.set_setting("discovery_mode", "NonDiscoverable").unwrap();
        a.set_setting("deviceio.relay.R1", "{\"mode\":1}").unwrap();
        a.set_setting("serial_number", "RG-A").unwrap();
        let snap = take(&a).unwrap();
        assert_eq!(snap.users.len(), 2);
        assert!(!snap.settings.contains_key("serial_number"));

        let to = tempfile::tempdir().unwrap();
        let b = StateDb::open(to.path()).unwrap();
        b.with(|c| {
            c.execute_batch("INSERT INTO users VALUES ('other', 'x', 'User');")?;
            Ok(())
        })
        .unwrap();
        b.set_setting("serial_number", "RG-B").unwrap();
        let mut hostile = snap.clone();
        hostile
            .settings
            .insert("serial_number".into(), "RG-EVIL".into());
        restore(&b, &hostile).unwrap();
        assert_eq!(take(&b).unwrap(), snap);
        assert_eq!(b.setting("serial_number").unwrap().as_deref(), Some("RG-B"));
        assert_eq!(
            b.scopes().unwrap(),
            Some(vec!["onvif://www.onvif.org/name/lobby".to_string()])
        );
    }
}
