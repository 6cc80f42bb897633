//! The probe client of `railgate discover`: sends a WS-Discovery Probe for ONVIF devices
//! (multicast on the chosen interfaces, or directed to one address) and collects the
//! ProbeMatches that answer it, so an integrator can check what a site's VMS will see.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::message::{self, Incoming, Target, TypeName};
use super::socket::{GROUP_V4, PORT};
use crate::host::net::Interface;

/// A device that answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// What it says about itself.
    pub target: Target,
    /// Where the answer came from.
    pub from: SocketAddr,
}

/// Where to send the Probe.
#[derive(Clone, Debug)]
pub enum ProbeTo {
    /// The multicast group, through each of these interfaces (their first IPv4 address).
    Multicast(Vec<Interface>),
    /// One address (a directed probe), port 3702 unless given.
    Directed(SocketAddr),
}

/// Probes for `tds:Device` and collects the answers for `wait`.
pub async fn discover(to: &ProbeTo, wait: Duration) -> io::Result<Vec<Found>> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_nonblocking(true)?;
    socket.set_multicast_ttl_v4(1)?;
    socket.set_multicast_loop_v4(true)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())?;
    let socket = UdpSocket::from_std(socket.into())?;
    let message_id = message::new_message_id();
    let probe = message::probe(&message_id, &[TypeName::onvif_device()], &[], None);
    // SOAP-over-UDP: a datagram may be lost; each is sent twice, a little apart.
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match to {
            ProbeTo::Directed(addr) => {
                socket.send_to(&probe, addr).await?;
            }
            ProbeTo::Multicast(interfaces) => {
                for i in interfaces {
                    let Some((addr, _)) = i.ipv4.first() else {
                        continue;
                    };
                    socket2::SockRef::from(&socket).set_multicast_if_v4(addr)?;
                    if let Err(e) = socket
                        .send_to(&probe, SocketAddrV4::new(GROUP_V4, PORT))
                        .await
                    {
                        tracing::debug!(interface = %i.name, error = %e, "probe not sent");
                    }
                }
            }
        }
    }
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut buf = vec![0u8; message::MAX_DATAGRAM];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let received = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
        let Ok(received) = received else { break };
        let (len, from) = received?;
        match message::parse(&buf[..len]) {
            Ok(Incoming::ProbeMatches(m)) if m.relates_to.as_deref() == Some(&message_id) => {
                for target in m.matches {
                    found
                        .entry(target.endpoint.clone())
                        .or_insert(Found { target, from });
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(%from, error = %e, "an answer was not understood"),
        }
    }
    Ok(found.into_values().collect())
}

/// A directed probe's address: `host` or `host:port`.
pub fn directed_address(text: &str) -> Option<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    text.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, PORT))
}

/// One device as a few lines of text.
pub fn describe(f: &Found) -> String {
    let t = &f.target;
    let mut out = format!("{}  (answered from {})\n", t.endpoint, f.from);
    for x in &t.xaddrs {
        out.push_str(&format!("  address  {x}\n"));
    }
    let types: Vec<String> = t.types.iter().map(|q| q.local.clone()).collect();
    out.push_str(&format!("  types    {}\n", types.join(" ")));
    for s in &t.scopes {
        out.push_str(&format!("  scope    {s}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directed_addresses_take_the_discovery_port_by_default() {
        assert_eq!(
            directed_address("10.0.0.5"),
            Some(SocketAddr::from(([10, 0, 0, 5], PORT)))
        );
        assert_eq!(
            directed_address("10.0.0.5:4000"),
            Some(SocketAddr::from(([10, 0, 0, 5], 4000)))
        );
        assert_eq!(directed_address("nonsense"), None);
    }
}
