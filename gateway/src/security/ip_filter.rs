//! The IP address filter (GetIPAddressFilter, SetIPAddressFilter, AddIPAddressFilter,
//! RemoveIPAddressFilter): an Allow or a Deny list of IPv4 and IPv6 prefixes, kept in the
//! state database (`network.ip_filter`: a network setting, so a Soft factory default keeps it
//! and a Hard one clears it) and checked on every HTTP and HTTPS connection before anything
//! is read from it, and on every WS-Discovery datagram before it is answered.
//!
//! An empty list filters nothing, whatever its type (an empty Allow list would shut every
//! client out, the one that set it too). A filter may shut out the client that sets it; the
//! recovery is on the box itself: `railgate ip-filter clear` (then restart railgate).
//! IPv4-mapped IPv6 addresses are matched as IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::addr::Network;
use crate::state::{StateDb, StateError};

/// The settings key.
pub const KEY: &str = "network.ip_filter";

/// Most prefixes in the list (IPv4 and IPv6 together).
pub const MAX_ENTRIES: usize = 64;

/// The filter's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// `Allow` (only the listed) rather than `Deny` (all but the listed).
    pub allow: bool,
    /// IPv4 prefixes.
    pub v4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 prefixes.
    pub v6: Vec<(Ipv6Addr, u8)>,
}

impl Rules {
    fn networks(&self) -> Vec<Network> {
        self.v4
            .iter()
            .filter_map(|(a, p)| Network::parse(&format!("{a}/{p}")))
            .chain(
                self.v6
                    .iter()
                    .filter_map(|(a, p)| Network::parse(&format!("{a}/{p}"))),
            )
            .collect()
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// More than [`MAX_ENTRIES`] prefixes.
    #[error("the filter holds at most {MAX_ENTRIES} addresses")]
    Full,
    /// RemoveIPAddressFilter named an IPv4 prefix that is not in the list.
    #[error("{0} is not in the filter")]
    NoIpv4(String),
    /// RemoveIPAddressFilter named an IPv6 prefix that is not in the list.
    #[error("{0} is not in the filter")]
    NoIpv6(String),
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
}

#[derive(Debug)]
struct Compiled {
    rules: Rules,
    networks: Vec<Network>,
}

/// The filter in force.
#[derive(Debug)]
pub struct IpFilter {
    db: Arc<StateDb>,
    current: RwLock<Arc<Compiled>>,
}

fn compiled(rules: Rules) -> Arc<Compiled> {
    Arc::new(Compiled {
        networks: rules.networks(),
        rules,
    })
}

impl IpFilter {
    /// Loads the filter from the state database (none stored: nothing is filtered).
    pub fn load(db: Arc<StateDb>) -> Result<IpFilter, StateError> {
        let rules = match db.setting(KEY)? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StateError::Corrupt(format!("{KEY}: {e}")))?,
            None => Rules::default(),
        };
        Ok(IpFilter {
            db,
            current: RwLock::new(compiled(rules)),
        })
    }

    fn now(&self) -> Arc<Compiled> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The rules in force.
    pub fn rules(&self) -> Rules {
        self.now().rules.clone()
    }

    /// Whether a client at `ip` may talk to the device.
    pub fn admits(&self, ip: IpAddr) -> bool {
        let c = self.now();
        if c.networks.is_empty() {
            return true;
        }
        let listed = c.networks.iter().any(|n| n.contains(ip));
        listed == c.rules.allow
    }

    fn store(&self, rules: Rules) -> Result<(), FilterError> {
        if rules.len() > MAX_ENTRIES {
            return Err(FilterError::Full);
        }
        let text = serde_json::to_string(&rules).unwrap_or_default();
        self.db.set_setting(KEY, &text)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = compiled(rules);
        Ok(())
    }

    /// SetIPAddressFilter: the type and the whole list.
    pub fn set(&self, rules: Rules) -> Result<(), FilterError> {
        self.store(rules)
    }

    /// AddIPAddressFilter: more prefixes (the type stays; ones already listed are not
    /// repeated).
    pub fn add(&self, v4: &[(Ipv4Addr, u8)], v6: &[(Ipv6Addr, u8)]) -> Result<(), FilterError> {
        let mut rules = self.rules();
        for e in v4 {
            if !rules.v4.contains(e) {
                rules.v4.push(*e);
            }
        }
        for e in v6 {
            if !rules.v6.contains(e) {
                rules.v6.push(*e);
            }
        }
        self.store(rules)
    }

    /// RemoveIPAddressFilter: every named prefix must be listed, else nothing changes.
    pub fn remove(&self, v4: &[(Ipv4Addr, u8)], v6: &[(Ipv6Addr, u8)]) -> Result<(), FilterError> {
        let mut rules = self.rules();
        for e in v4 {
            let Some(i) = rules.v4.iter().position(|x| x == e) else {
                return Err(FilterError::NoIpv4(format!("{}/{}", e.0, e.1)));
            };
            rules.v4.remove(i);
        }
        for e in v6 {
            let Some(i) = rules.v6.iter().position(|x| x == e) else {
                return Err(FilterError::NoIpv6(format!("{}/{}", e.0, e.1)));
            };
            rules.v6.remove(i);
        }
        self.store(rules)
    }
}

/// Clears the stored filter of the data folder (the console recovery, while railgate is
/// stopped or before it restarts).
pub fn clear(db: &StateDb) -> Result<(), StateError> {
    db.set_setting(
        KEY,
        &serde_json::to_string(&Rules::default()).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn deny_and_allow_lists_admit_what_they_say_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(StateDb::open(dir.path()).unwrap());
        let f = IpFilter::load(db.clone()).unwrap();
        assert!(f.admits(ip("203.0.113.9")), "nothing filtered by default");
        f.set(Rules {
            allow: false,
            v4: vec![("127.0.0.2".parse().unwrap(), 32)],
            v6: vec![],
        })
        .unwrap();
        assert!(!f.admits(ip("127.0.0.2")) && f.admits(ip("127.0.0.1")));
        assert!(!f.admits(ip("::ffff:127.0.0.2")), "IPv4-mapped is IPv4");
        f.set(Rules {
            allow: true,
            v4: vec![("10.0.0.0".parse().unwrap(), 8)],
            v6: vec![("fd00::".parse().unwrap(), 8)],
        })
        .unwrap();
        assert!(f.admits(ip("10.1.2.3")) && f.admits(ip("fd12::1")));
        assert!(!f.admits(ip("192.0.2.1")) && !f.admits(ip("2001:db8::1")));
        let again = IpFilter::load(db.clone()).unwrap();
        assert_eq!(again.rules(), f.rules());

        assert!(matches!(
            f.remove(&[("192.0.2.0".parse().unwrap(), 24)], &[]),
            Err(FilterError::NoIpv4(_))
        ));
        f.remove(&[("10.0.0.0".parse().unwrap(), 8)], &[]).unwrap();
        assert_eq!(f.rules().v4, vec![]);
        let many: Vec<_> = (0..=MAX_ENTRIES as u8)
            .map(|i| (Ipv4Addr::new(192, 0, 2, i), 32))
            .collect();
        assert!(matches!(f.add(&many, &[]), Err(FilterError::Full)));
        clear(&db).unwrap();
        assert!(IpFilter::load(db).unwrap().admits(ip("192.0.2.1")));
    }
}
