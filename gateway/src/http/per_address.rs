//! Connections held per client address, so that one address (one NAT, one misbehaving client)
//! cannot take every connection slot.
//!
//! IPv4 clients are counted by address (an IPv4-mapped IPv6 peer counts as its IPv4 address);
//! IPv6 clients by their /64, the block one host or one site is normally given, so a host
//! cannot multiply its share by hopping addresses inside its own prefix.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The key a client's connections are counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 client.
    V4([u8; 4]),
    /// The /64 of an IPv6 client.
    V6Prefix([u8; 8]),
}

impl ClientKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => ClientKey::V6Prefix(prefix64(v6)),
            },
        }
    }
}

fn prefix64(v6: Ipv6Addr) -> [u8; 8] {
    let o = v6.octets();
    [o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]
}

/// Counts open connections per [`ClientKey`] against a cap.
#[derive(Debug)]
pub struct PerAddress {
    cap: usize,
    open: Mutex<HashMap<ClientKey, usize>>,
}

/// One admitted connection; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    table: Arc<PerAddress>,
    key: ClientKey,
}

impl PerAddress {
    /// A table allowing `cap` connections per client.
    pub fn new(cap: usize) -> Arc<PerAddress> {
        Arc::new(PerAddress {
            cap,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a connection from `ip`, or `None` when that client already holds `cap`.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let key = ClientKey::of(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: self.clone(),
            key,
        })
    }

    /// Connections open from `ip`'s client key.
    pub fn held(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&ClientKey::of(ip)).copied().unwrap_or(0)
    }

    /// Client keys with a connection open (the table never holds more entries than that).
    pub fn clients(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_is_capped_and_another_is_not() {
        let table = PerAddress::new(2);
        let a = [table.admit(ip("10.0.0.1")), table.admit(ip("10.0.0.1"))];
        assert!(a.iter().all(Option::is_some));
        assert!(table.admit(ip("10.0.0.1")).is_none());
        assert!(table.admit(ip("10.0.0.2")).is_some());
        assert_eq!(table.held(ip("10.0.0.1")), 2);
    }

    #[test]
    fn a_closed_connection_gives_its_slot_back_and_empty_clients_are_forgotten() {
        let table = PerAddress::new(1);
        let slot = table.admit(ip("10.0.0.1")).unwrap();
        assert!(table.admit(ip("10.0.0.1")).is_none());
        drop(slot);
        assert_eq!(table.clients(), 0);
        assert!(table.admit(ip("10.0.0.1")).is_some());
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let table = PerAddress::new(1);
        let _a = table.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(table.admit(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(table.admit(ip("2001:db8:1:3::1")).is_some());
        let _b = table.admit(ip("192.0.2.7")).unwrap();
        assert!(table.admit(ip("::ffff:192.0.2.7")).is_none());
    }
}
