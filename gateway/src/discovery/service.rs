//! The WS-Discovery target service task: feeds the state machine from the sockets, the
//! app's scopes and discovery mode, and the host's interfaces; sends what it releases.
//! When a reload changes the interfaces (`App::discovery`), the service says Bye and starts
//! again with them (a new InstanceId, Hello on the new interfaces), or stays off; a change of
//! the announced types alone is a Hello with the next metadata version.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::machine::{self, Dest, DeviceFacts, HttpEndpoint, Machine, RateLimits};
use super::message::TypeName;
use super::socket::{PORT, Selection, Sockets};
use crate::app::App;
use crate::config::DiscoveryConfig;
use crate::host::net::Interface;

/// How often the interfaces are looked at again (an address change is announced by Hello).
const RESCAN: Duration = Duration::from_secs(30);
/// Settings keys of the persisted counters.
const INSTANCE_ID: &str = "discovery.instance_id";
const METADATA_VERSION: &str = "discovery.metadata_version";

fn facts(app: &App, config: &DiscoveryConfig) -> DeviceFacts {
    let mut types = vec![TypeName::onvif_device()];
    if config.network_video_transmitter {
        types.push(TypeName::network_video_transmitter());
    }
    DeviceFacts {
        endpoint_reference: app.endpoint_reference.clone(),
        types,
        scopes: app.scopes.all().into_iter().map(|(_, uri)| uri).collect(),
        discoverable: app.discovery_mode.is_discoverable(),
    }
}

/// A counter in the state database, incremented and stored (0 when unreadable).
fn next_counter(app: &App, key: &str) -> u32 {
    let current = app
        .db
        .setting(key)
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let next = current.wrapping_add(1).max(1);
    if let Err(e) = app.db.set_setting(key, &next.to_string()) {
        tracing::warn!(error = %e, key, "cannot store a discovery counter");
    }
    next
}

fn chosen(selection: &Selection) -> Vec<Interface> {
    let host = match crate::host::net::interfaces() {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the network interfaces");
            return Vec::new();
        }
    };
    let (picked, missing) = selection.pick(&host);
    for name in missing {
        tracing::warn!(interface = %name, "discovery interface not found or not up");
    }
    picked
}

/// The machine's view of the interfaces: only the addresses the HTTP server really serves
/// on `port` (an XAddr nobody answers on is worse than none).
fn machine_interfaces(
    list: &[Interface],
    listeners: &[SocketAddr],
    port: u16,
) -> Vec<machine::Interface> {
    list.iter()
        .map(|i| {
            let mut m = machine::Interface::from(i);
            m.addrs.retain(|a| served(*a, listeners, port));
            m
        })
        .collect()
}

/// Whether a listener on `port` accepts connections to `addr`.
fn served(addr: IpAddr, listeners: &[SocketAddr], port: u16) -> bool {
    listeners.iter().any(|l| {
        l.port() == port
            && (l.ip() == addr || (l.ip().is_unspecified() && l.is_ipv4() == addr.is_ipv4()))
    })
}

/// The listeners WS-Discovery advertises: HTTP's, or HTTPS's (`true`) when HTTP is off.
fn advertised(served: &crate::device::protocols::Served) -> (Vec<SocketAddr>, bool) {
    if served.http.is_empty() {
        (served.https.clone(), true)
    } else {
        (served.http.clone(), false)
    }
}

/// How one round of [`serve`] ended.
enum Served {
    /// Stopped (Bye said).
    Stopped,
    /// The interfaces changed (Bye said): start again.
    Changed,
    /// Off, or it could not listen: wait for the settings to change.
    Idle,
}

/// Runs WS-Discovery until `stop`, then says Bye. A reload that changes the interfaces makes
/// it say Bye and start again with them; one that changes only the announced types is
/// announced as a Hello with the new metadata version.
pub async fn run(app: Arc<App>, stop: CancellationToken) {
    let mut settings = app.discovery.subscribe();
    loop {
        let config = settings.borrow_and_update().clone();
        match serve(app.clone(), config, &mut settings, &stop).await {
            Served::Stopped => return,
            Served::Changed => {}
            Served::Idle => tokio::select! {
                () = stop.cancelled() => return,
                changed = settings.changed() => if changed.is_err() { return },
            },
        }
    }
}

/// Serves WS-Discovery with `config` until `stop` or a change of the interfaces in
/// `settings`, then says Bye. Returns at once when it is off.
async fn serve(
    app: Arc<App>,
    mut config: DiscoveryConfig,
    settings: &mut tokio::sync::watch::Receiver<DiscoveryConfig>,
    stop: &CancellationToken,
) -> Served {
    let selection = Selection::parse(&config.interfaces);
    if selection == Selection::Off {
        tracing::info!("WS-Discovery is off");
        return Served::Idle;
    }
    let mut interfaces = chosen(&selection);
    let sockets = match Sockets::open(PORT, &interfaces) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, port = PORT, "WS-Discovery cannot listen; clients must add the device by address");
            return Served::Idle;
        }
    };
    // The served addresses with their actual ports (port 0 resolved at bind); they change
    // with SetNetworkProtocols.
    let mut served = app.protocols.watch();
    let (mut listeners, mut tls) = advertised(&served.borrow_and_update());
    let Some(mut port) = listeners.first().map(SocketAddr::port) else {
        return Served::Idle;
    };
    let instance_id = next_counter(&app, INSTANCE_ID);
    let metadata_version = next_counter(&app, METADATA_VERSION);
    let mut machine = Machine::new(
        machine::Config {
            instance_id,
            metadata_version,
            http: HttpEndpoint {
                port,
                tls,
                advertised: app.config.server.advertised_address.clone(),
            },
            limits: RateLimits::default(),
        },
        facts(&app, &config),
        machine_interfaces(&interfaces, &listeners, port),
        fastrand::Rng::new(),
    );
    tracing::info!(
        interfaces = ?interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        endpoint = %app.endpoint_reference,
        instance_id,
        "WS-Discovery serving"
    );
    machine.start(Instant::now());
    let mut rescan = tokio::time::interval(RESCAN);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    rescan.tick().await;
    let ended = loop {
        flush(&mut machine, &sockets, &interfaces).await;
        let wake = machine.next_wakeup();
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break Served::Stopped,
            changed = settings.changed() => {
                if changed.is_err() {
                    break Served::Stopped;
                }
                let new = settings.borrow_and_update().clone();
                if new.interfaces != config.interfaces {
                    tracing::info!("the WS-Discovery interfaces changed: it starts again with them");
                    break Served::Changed;
                }
                config = new;
                tracing::info!("the WS-Discovery settings changed: a Hello announces the new types");
                machine.facts_changed(facts(&app, &config), Instant::now());
                store_metadata_version(&app, &machine);
            }
            received = sockets.recv() => match received {
                Ok(r) if !app.ip_filter.admits(r.from.ip()) => {
                    tracing::debug!(from = %r.from, "WS-Discovery datagram from a filtered address: not answered");
                }
                Ok(r) => {
                    let outcome = machine.received(&r.bytes, r.from, r.local, r.ifindex, r.multicast, Instant::now());
                    tracing::debug!(from = %r.from, %outcome, "WS-Discovery datagram");
                }
                Err(e) => {
                    tracing::debug!(error = %e, "WS-Discovery receive failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Ok(()) = served.changed() => {
                (listeners, tls) = advertised(&served.borrow_and_update());
                if let Some(p) = listeners.first().map(SocketAddr::port) {
                    tracing::info!(port = p, tls, "served ports changed: WS-Discovery announces the new XAddrs");
                    port = p;
                    machine.http_changed(
                        HttpEndpoint {
                            port,
                            tls,
                            advertised: app.config.server.advertised_address.clone(),
                        },
                        Instant::now(),
                    );
                    machine.interfaces_changed(
                        machine_interfaces(&interfaces, &listeners, port),
                        Instant::now(),
                    );
                    store_metadata_version(&app, &machine);
                }
            }
            _ = app.discovery_changed.notified() => {
                machine.facts_changed(facts(&app, &config), Instant::now());
                store_metadata_version(&app, &machine);
            }
            _ = rescan.tick() => {
                let now = chosen(&selection);
                if now != interfaces {
                    tracing::info!("network interfaces changed: WS-Discovery announces the new addresses");
                    interfaces = now;
                    machine.interfaces_changed(
                        machine_interfaces(&interfaces, &listeners, port),
                        Instant::now(),
                    );
                    store_metadata_version(&app, &machine);
                }
            }
            _ = timer => {}
        }
    };
    // Bye, and its repeats (about a second), before the process goes.
    machine.stop(Instant::now());
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        flush(&mut machine, &sockets, &interfaces).await;
        match machine.next_wakeup() {
            Some(at) => tokio::time::sleep_until(at.min(deadline).into()).await,
            None => break,
        }
    }
    let c = machine.counters();
    tracing::info!(counters = ?c, "WS-Discovery stopped");
    ended
}

fn store_metadata_version(app: &App, machine: &Machine) {
    if let Err(e) = app
        .db
        .set_setting(METADATA_VERSION, &machine.metadata_version().to_string())
    {
        tracing::warn!(error = %e, "cannot store the discovery metadata version");
    }
}

/// Sends everything the machine has released.
async fn flush(machine: &mut Machine, sockets: &Sockets, interfaces: &[Interface]) {
    for send in machine.poll(Instant::now()) {
        let result = match send.to {
            Dest::Multicast { ifindex, v6 } => {
                let via = interfaces
                    .iter()
                    .find(|i| i.index == ifindex)
                    .and_then(|i| i.ipv4.first().map(|(a, _)| *a));
                sockets
                    .send_multicast(ifindex, via, v6, PORT, &send.bytes)
                    .await
            }
            Dest::Unicast(to) => sockets.send_unicast(to, &send.bytes).await,
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, to = ?send.to, "WS-Discovery send failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_advertised_only_when_http_is_off() {
        use crate::device::protocols::Served;
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let both = Served {
            http: vec![a],
            https: vec![b],
        };
        assert_eq!(advertised(&both), (vec![a], false));
        let tls_only = Served {
            http: vec![],
            https: vec![b],
        };
        assert_eq!(advertised(&tls_only), (vec![b], true));
    }

    #[test]
    fn only_served_addresses_are_advertised() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        let any4: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let lo_only: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let any6: SocketAddr = "[::]:8080".parse().unwrap();
        assert!(served(v4, &[any4], 8080) && served(lo, &[any4], 8080));
        assert!(!served(v6, &[any4], 8080));
        assert!(served(lo, &[lo_only], 8080) && !served(v4, &[lo_only], 8080));
        assert!(served(v6, &[any4, any6], 8080));
        assert!(!served(v4, &[any4], 9090));
    }
}
