//! Connections held per client address, so that one address (one NAT, one misbehaving client)
//! cannot take every connection slot.
//!
//! Clients are counted by [`client_key`]: IPv4 by address (an IPv4-mapped IPv6 peer as its
//! IPv4 address), IPv6 by its /64, so a host cannot multiply its share by hopping addresses
//! inside its own prefix.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::addr::client_key;

/// Counts open connections per client key against a cap.
#[derive(Debug)]
pub struct PerAddress {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    table: Arc<PerAddress>,
    key: IpAddr,
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
        let key = client_key(ip);
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
        open.get(&client_key(ip)).copied().unwrap_or(0)
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
