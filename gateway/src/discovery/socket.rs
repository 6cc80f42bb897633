//! The thin UDP layer of WS-Discovery: the sockets on port 3702, multicast group
//! membership on the chosen interfaces, and receiving with the arrival interface and local
//! address (`IP_PKTINFO` / `IPV6_RECVPKTINFO`), which decide the XAddrs a reply advertises.
//! All protocol decisions are the state machine's (`machine.rs`).

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrLike, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::host::net::Interface;

/// The WS-Discovery port.
pub const PORT: u16 = 3702;
/// The IPv4 multicast group.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The IPv6 (link-local scope) multicast group.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x0c);
/// Datagrams larger than this are not read whole (and are dropped by the parser).
const MAX_DATAGRAM: usize = 32 * 1024;

/// Which interfaces take part, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Discovery is off.
    Off,
    /// Every interface that is up and has multicast (and loopback).
    All,
    /// These interfaces, by name.
    Named(Vec<String>),
}

impl Selection {
    /// Parses `off`, `all`, or a comma- or list-separated set of interface names.
    pub fn parse(names: &[String]) -> Selection {
        let names: Vec<String> = names
            .iter()
            .flat_map(|n| n.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() || names.iter().any(|n| n == "off") {
            Selection::Off
        } else if names.iter().any(|n| n == "all") {
            Selection::All
        } else {
            Selection::Named(names)
        }
    }

    /// The host interfaces selected (up ones only), and the names that do not exist.
    pub fn pick(&self, host: &[Interface]) -> (Vec<Interface>, Vec<String>) {
        match self {
            Selection::Off => (Vec::new(), Vec::new()),
            Selection::All => (
                host.iter()
                    .filter(|i| i.up && (i.multicast || i.loopback))
                    .cloned()
                    .collect(),
                Vec::new(),
            ),
            Selection::Named(names) => {
                let found = host
                    .iter()
                    .filter(|i| i.up && names.contains(&i.name))
                    .cloned()
                    .collect();
                let missing = names
                    .iter()
                    .filter(|n| !host.iter().any(|i| &i.name == *n && i.up))
                    .cloned()
                    .collect();
                (found, missing)
            }
        }
    }
}

/// A received datagram with where it arrived.
#[derive(Debug)]
pub struct Received {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The sender.
    pub from: SocketAddr,
    /// The local address it was sent to (the group, for multicast).
    pub local: IpAddr,
    /// The interface it arrived on.
    pub ifindex: u32,
    /// Whether it was sent to the multicast group.
    pub multicast: bool,
}

/// The discovery sockets (IPv4, and IPv6 where an interface has IPv6).
#[derive(Debug)]
pub struct Sockets {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
}

fn bound(domain: Domain, addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    // Other WS-Discovery services on the host may listen on 3702 too.
    socket.set_reuse_address(true)?;
    if domain == Domain::IPV6 {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

impl Sockets {
    /// Binds port `port` (3702 in service; tests may use another) and joins the multicast
    /// groups on `interfaces`. A group that cannot be joined on one interface is logged and
    /// skipped; failing to bind at all is an error.
    pub fn open(port: u16, interfaces: &[Interface]) -> io::Result<Sockets> {
        let want_v6 = interfaces.iter().any(|i| !i.ipv6.is_empty());
        let v4 = bound(
            Domain::IPV4,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        )?;
        setsockopt(&v4, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
        v4.set_multicast_loop_v4(true)?;
        v4.set_multicast_ttl_v4(1)?;
        for i in interfaces {
            if let Some((addr, _)) = i.ipv4.first()
                && let Err(e) = v4.join_multicast_v4(&GROUP_V4, addr)
            {
                tracing::warn!(interface = %i.name, error = %e, "cannot join the WS-Discovery IPv4 group");
            }
        }
        let v6 = if want_v6 {
            match bound(
                Domain::IPV6,
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
            ) {
                Ok(s) => {
                    setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
                    s.set_multicast_loop_v6(true)?;
                    s.set_multicast_hops_v6(1)?;
                    for i in interfaces.iter().filter(|i| !i.ipv6.is_empty()) {
                        if let Err(e) = s.join_multicast_v6(&GROUP_V6, i.index) {
                            tracing::warn!(interface = %i.name, error = %e, "cannot join the WS-Discovery IPv6 group");
                        }
                    }
                    Some(UdpSocket::from_std(s.into())?)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no IPv6 WS-Discovery socket");
                    None
                }
            }
        } else {
            None
        };
        Ok(Sockets {
            v4: Some(UdpSocket::from_std(v4.into())?),
            v6,
        })
    }

    /// The next datagram on either socket.
    pub async fn recv(&self) -> io::Result<Received> {
        match (&self.v4, &self.v6) {
            (Some(a), Some(b)) => tokio::select! {
                r = recv_one(a) => r,
                r = recv_one(b) => r,
            },
            (Some(a), None) | (None, Some(a)) => recv_one(a).await,
            (None, None) => std::future::pending().await,
        }
    }

    /// Sends `bytes` to the group on interface `ifindex` (whose address is `via` for IPv4).
    pub async fn send_multicast(
        &self,
        ifindex: u32,
        via: Option<Ipv4Addr>,
        v6: bool,
        port: u16,
        bytes: &[u8],
    ) -> io::Result<()> {
        if v6 {
            let Some(s) = &self.v6 else {
                return Ok(());
            };
            socket2::SockRef::from(s).set_multicast_if_v6(ifindex)?;
            s.send_to(bytes, SocketAddrV6::new(GROUP_V6, port, 0, ifindex))
                .await?;
        } else {
            let Some(s) = &self.v4 else {
                return Ok(());
            };
            if let Some(addr) = via {
                socket2::SockRef::from(s).set_multicast_if_v4(&addr)?;
            }
            s.send_to(bytes, SocketAddrV4::new(GROUP_V4, port)).await?;
        }
        Ok(())
    }

    /// Sends `bytes` to one address.
    pub async fn send_unicast(&self, to: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let socket = if to.is_ipv4() { &self.v4 } else { &self.v6 };
        match socket {
            Some(s) => s.send_to(bytes, to).await.map(|_| ()),
            None => Ok(()),
        }
    }
}

async fn recv_one(socket: &UdpSocket) -> io::Result<Received> {
    loop {
        socket.readable().await?;
        match socket.try_io(Interest::READABLE, || read_with_pktinfo(socket)) {
            Ok(r) => return Ok(r),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

fn read_with_pktinfo(socket: &UdpSocket) -> io::Result<Received> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::in_pktinfo);
    let (len, from, info) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_TRUNC,
        )
        .map_err(io::Error::from)?;
        let from = msg.address.as_ref().and_then(to_socket_addr);
        let mut info = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                match c {
                    ControlMessageOwned::Ipv4PacketInfo(p) => {
                        let local = Ipv4Addr::from(u32::from_be(p.ipi_addr.s_addr));
                        info = Some((IpAddr::V4(local), p.ipi_ifindex as u32));
                    }
                    ControlMessageOwned::Ipv6PacketInfo(p) => {
                        info = Some((
                            IpAddr::V6(Ipv6Addr::from(p.ipi6_addr.s6_addr)),
                            p.ipi6_ifindex,
                        ));
                    }
                    _ => {}
                }
            }
        }
        (msg.bytes, from, info)
    };
    let Some(from) = from else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "datagram without a sender",
        ));
    };
    let (local, ifindex) = info.unwrap_or((
        if from.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        },
        0,
    ));
    // MSG_TRUNC: `len` is the datagram's real size; anything over the buffer is dropped.
    buf.truncate(len.min(MAX_DATAGRAM));
    if len > MAX_DATAGRAM {
        buf.clear();
    }
    let multicast = local.is_multicast();
    Ok(Received {
        bytes: buf,
        from,
        local,
        ifindex,
        multicast,
    })
}

fn to_socket_addr(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::new(v4.ip(), v4.port())));
    }
    if let Some(v6) = s.as_sockaddr_in6() {
        return Some(SocketAddr::V6(SocketAddrV6::new(
            v6.ip(),
            v6.port(),
            v6.flowinfo(),
            v6.scope_id(),
        )));
    }
    let _ = s.family();
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, up: bool, multicast: bool, loopback: bool) -> Interface {
        Interface {
            name: name.into(),
            up,
            multicast,
            loopback,
            ..Interface::default()
        }
    }

    #[test]
    fn selections_parse_and_pick() {
        let host = vec![
            iface("lo", true, false, true),
            iface("eth0", true, true, false),
            iface("eth1", false, true, false),
            iface("tun0", true, false, false),
        ];
        let names = |v: &[Interface]| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(Selection::parse(&[]), Selection::Off);
        assert_eq!(Selection::parse(&["off".into()]), Selection::Off);
        let all = Selection::parse(&["all".into()]);
        assert_eq!(names(&all.pick(&host).0), ["lo", "eth0"]);
        let named = Selection::parse(&["lo, eth1".into(), "wlan0".into()]);
        let (found, missing) = named.pick(&host);
        assert_eq!(names(&found), ["lo"]);
        assert_eq!(missing, ["eth1", "wlan0"]);
    }

    #[tokio::test]
    async fn a_unicast_datagram_arrives_with_its_local_address() {
        let lo = crate::host::net::interfaces()
            .unwrap()
            .into_iter()
            .find(|i| i.loopback)
            .unwrap();
        // An ephemeral port: the test must not need 3702 free.
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let sockets = Sockets::open(port, std::slice::from_ref(&lo)).unwrap();
        probe.send_to(b"hello", ("127.0.0.1", port)).unwrap();
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), sockets.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.bytes, b"hello");
        assert_eq!(r.from, probe.local_addr().unwrap());
        assert_eq!(r.local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(r.ifindex, lo.index);
        assert!(!r.multicast);
        // And back.
        sockets.send_unicast(r.from, b"answer").await.unwrap();
        let mut buf = [0u8; 16];
        probe
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let (n, _) = probe.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"answer");
    }
}
