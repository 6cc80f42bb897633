//! The simulated legacy panel: a real Modbus TCP server (tokio-modbus's server) for the demo,
//! `railgate sim`, and tests.
//!
//! It serves two unit ids (the register map is in [`layout`]):
//! - **Unit 1, `generic-io-16di-8do`**: discrete inputs 0–15, coils 0–7 looped back to
//!   discrete inputs 8–15 (a coil write shows on DI 8+n at once), input register 0 module
//!   temperature (i16, 0.1 °C), input register 1 supply voltage (u16, mV, ~24000).
//! - **Unit 2, `generic-alarm-panel`**: zone open/alarm bits, two partitions with exit and
//!   entry delays, battery, enclosure temperature, trouble bits, a command register (100), a
//!   PGM register (200, FC06/FC16/FC22) and four coils (siren, strobe, aux 1, aux 2). The
//!   panel's rules are in the `state` module's doc.
//!
//! Other unit ids (unless added with [`SimPanel::add_scratch_unit`] for a benchmark) are
//! answered with exception GatewayTargetDevice (0x0B); addresses a unit does
//! not have with IllegalDataAddress (0x02). The panel's input registers 2–9 and 12–19 are
//! reserved and read as 0, so its whole input map is one request.
//!
//! With [`SimOptions::animate`], inputs change over time: unit 1 DI 0 toggles every 5 s and
//! DI 1 every 13 s, the temperature follows a sine between 20.0 and 25.0 °C over two minutes
//! and the supply voltage wobbles by ±40 mV; on unit 2 zone 1 opens and closes every 7 s, the
//! battery drifts 100 → 95 → 100 % over ten minutes and the enclosure temperature between 22.0
//! and 24.0 °C. Trouble bits (e.g. AC power failure) change only through the handle. Tests
//! use `animate: false`: then only Modbus writes, the panel's own timers and the handle change
//! anything.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use railgate_adapters::sim::{self, SimOptions, layout::io};
//! let panel = sim::start("127.0.0.1:0".parse().unwrap(), SimOptions { animate: false }).await?;
//! panel.set_discrete_input(io::UNIT, 0, true).unwrap();
//! panel.stop().await; // the panel "dies": listener closed, connections dropped
//! panel.restart().await?; // ...and returns on the same port
//! # Ok(()) }
//! ```

pub mod layout;
mod memory;
mod service;
mod state;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};
use tracing::{debug, info};

use service::PanelService;
use state::SimState;

/// How often the panel's timers and animation advance.
const TICK: Duration = Duration::from_millis(50);
/// Addresses per table of a scratch unit.
const SCRATCH_SIZE: u16 = 10_000;
/// How long `stop` waits for connection tasks to drop their sockets.
const DRAIN: Duration = Duration::from_secs(2);

/// How the simulated panel behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimOptions {
    /// Change inputs over time (the demo); `false` keeps them still (tests).
    pub animate: bool,
}

/// Why a handle call changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Only units 1 and 2 exist.
    #[error("unit {0} does not exist (the simulated panel has units 1 and 2)")]
    NoSuchUnit(u8),
    /// The unit has no such address in that table.
    #[error("unit {unit} has no {table} at address {address}")]
    NoSuchAddress {
        /// The unit id.
        unit: u8,
        /// The table's name (`coil`, `discrete_input`, `holding`, `input`).
        table: &'static str,
        /// The wire address.
        address: u16,
    },
    /// The panel refuses the value (e.g. an unknown command), as it would over Modbus.
    #[error("unit {unit} refuses the value: {reason}")]
    Refused {
        /// The unit id.
        unit: u8,
        /// The exception it would answer.
        reason: String,
    },
}

/// The running server's pieces, present while it serves.
struct Serving {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// A running simulated panel. Dropping it stops everything (listener, connections, timers).
pub struct SimPanel {
    state: Arc<Mutex<SimState>>,
    requests: Arc<AtomicU64>,
    addr: SocketAddr,
    serving: tokio::sync::Mutex<Option<Serving>>,
    connections: TaskTracker,
    root: CancellationToken,
}

impl std::fmt::Debug for SimPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPanel")
            .field("addr", &self.addr)
            .field("connections", &self.connections.len())
            .finish_non_exhaustive()
    }
}

/// Starts the simulated panel on `addr` (port 0: an ephemeral port; see
/// [`SimPanel::local_addr`]).
pub async fn start(addr: SocketAddr, opts: SimOptions) -> io::Result<SimPanel> {
    let listener = bind(addr)?;
    let addr = listener.local_addr()?;
    let state = Arc::new(Mutex::new(SimState::new(opts.animate, Instant::now())));
    let root = CancellationToken::new();
    let connections = TaskTracker::new();

    let ticking = Arc::clone(&state);
    let stop_ticking = root.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = stop_ticking.cancelled() => break,
                _ = every.tick() => ticking.lock().tick(Instant::now()),
            }
        }
    });

    let requests = Arc::new(AtomicU64::new(0));
    let serving = serve(
        listener,
        &state,
        &requests,
        &connections,
        root.child_token(),
    );
    debug!(%addr, animate = opts.animate, "sim: serving");
    Ok(SimPanel {
        state,
        requests,
        addr,
        serving: tokio::sync::Mutex::new(Some(serving)),
        connections,
        root,
    })
}

/// Runs the simulated panel on `addr` until `stop` is cancelled: the entry point of
/// `railgate sim --listen ADDR`. Errors only if the address cannot be bound.
pub async fn run(addr: SocketAddr, opts: SimOptions, stop: CancellationToken) -> io::Result<()> {
    let panel = start(addr, opts).await?;
    info!(
        address = %panel.local_addr(),
        animate = opts.animate,
        "simulated panel serving Modbus TCP: unit 1 generic-io-16di-8do, unit 2 generic-alarm-panel"
    );
    stop.cancelled().await;
    panel.stop().await;
    info!("simulated panel stopped");
    Ok(())
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // `restart` binds the same port while old connections may still be in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

fn serve(
    listener: TcpListener,
    state: &Arc<Mutex<SimState>>,
    requests: &Arc<AtomicU64>,
    connections: &TaskTracker,
    cancel: CancellationToken,
) -> Serving {
    let service = PanelService {
        state: Arc::clone(state),
        requests: Arc::clone(requests),
    };
    let connections = connections.clone();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let on_connected = move |stream: TcpStream, peer: SocketAddr| {
            let service = service.clone();
            let token = connections.token();
            async move {
                debug!(%peer, "sim: client connected");
                let _ = stream.set_nodelay(true);
                Ok(Some((
                    service,
                    Tracked {
                        stream,
                        _token: token,
                    },
                )))
            }
        };
        let on_error = |e: io::Error| debug!(error = %e, "sim: connection ended with an error");
        // Dropping `serve` (when stopped) cancels every connection task it spawned, and each
        // drops its socket.
        tokio::select! {
            () = stop.cancelled() => {}
            result = server.serve(&on_connected, on_error) => {
                if let Err(e) = result {
                    debug!(error = %e, "sim: accept failed; listener closed");
                }
            }
        }
    });
    Serving { cancel, task }
}

impl SimPanel {
    /// The address it listens on (the same after [`SimPanel::restart`]).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener and every open connection: the panel looks dead to clients.
    /// Returns once the sockets are closed.
    pub async fn stop(&self) {
        let mut serving = self.serving.lock().await;
        if let Some(s) = serving.take() {
            s.cancel.cancel();
            let _ = s.task.await;
        }
        self.connections.close();
        if tokio::time::timeout(DRAIN, self.connections.wait())
            .await
            .is_err()
        {
            debug!("sim: connections still open after stop");
        }
        self.connections.reopen();
    }

    /// Listens again on the same address after [`SimPanel::stop`] (the peer returns). A no-op
    /// if it is serving.
    pub async fn restart(&self) -> io::Result<()> {
        let mut serving = self.serving.lock().await;
        if serving.is_none() {
            let listener = bind(self.addr)?;
            *serving = Some(serve(
                listener,
                &self.state,
                &self.requests,
                &self.connections,
                self.root.child_token(),
            ));
        }
        Ok(())
    }

    /// Whether it is listening.
    pub async fn is_serving(&self) -> bool {
        self.serving.lock().await.is_some()
    }

    /// Modbus requests served so far (answered or refused), over every connection.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Open client connections.
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// Adds a plain unit `unit` with 10 000 coils, discrete inputs, holding and input
    /// registers (addresses 0–9999, all 0, no logic), for benchmarks and load tests. Units 1
    /// and 2 keep their layouts; an existing unit id is refused.
    pub fn add_scratch_unit(&self, unit: u8) -> Result<(), SimError> {
        if self.state.lock().add_scratch_unit(unit, SCRATCH_SIZE) {
            Ok(())
        } else {
            Err(SimError::Refused {
                unit,
                reason: "the unit already exists".into(),
            })
        }
    }

    /// Switches FC22 (mask write register) off or on: off, the panel answers it with
    /// IllegalFunction like older firmware.
    pub fn set_mask_write_supported(&self, supported: bool) {
        self.state.lock().mask_write = supported;
    }

    /// Sets the alarm panel's exit and entry delays (5 s each by default).
    pub fn set_alarm_delays(&self, exit: Duration, entry: Duration) {
        let mut state = self.state.lock();
        state.exit_delay = exit;
        state.entry_delay = entry;
    }

    /// Sets a discrete input (a contact changing in the field).
    pub fn set_discrete_input(&self, unit: u8, address: u16, on: bool) -> Result<(), SimError> {
        let mut state = self.state.lock();
        check_unit(&state, unit)?;
        if state.set_discrete_input(unit, address, on) {
            Ok(())
        } else {
            Err(no_such(unit, "discrete_input", address))
        }
    }

    /// Reads a discrete input.
    pub fn discrete_input(&self, unit: u8, address: u16) -> Option<bool> {
        self.state.lock().discrete_input(unit, address)
    }

    /// Sets a coil as a Modbus write would (with its side effects, e.g. relay feedback).
    pub fn set_coil(&self, unit: u8, address: u16, on: bool) -> Result<(), SimError> {
        let mut state = self.state.lock();
        check_unit(&state, unit)?;
        state
            .write_coils(unit, address, &[on])
            .map_err(|code| refused(unit, "coil", address, code))
    }

    /// Reads a coil.
    pub fn coil(&self, unit: u8, address: u16) -> Option<bool> {
        self.state.lock().coil(unit, address)
    }

    /// Sets an input register (a measurement or status changing; on unit 2 also zone bits,
    /// which the panel reacts to on its next tick).
    pub fn set_input_register(&self, unit: u8, address: u16, value: u16) -> Result<(), SimError> {
        let mut state = self.state.lock();
        check_unit(&state, unit)?;
        if state.set_input_register(unit, address, value) {
            Ok(())
        } else {
            Err(no_such(unit, "input", address))
        }
    }

    /// Reads an input register.
    pub fn input_register(&self, unit: u8, address: u16) -> Option<u16> {
        self.state.lock().input_register(unit, address)
    }

    /// Writes a holding register as a Modbus write would (a command is executed at once).
    pub fn set_holding(&self, unit: u8, address: u16, value: u16) -> Result<(), SimError> {
        let mut state = self.state.lock();
        check_unit(&state, unit)?;
        state
            .write_holding(unit, address, &[value], Instant::now())
            .map_err(|code| refused(unit, "holding", address, code))
    }

    /// Reads a holding register.
    pub fn holding(&self, unit: u8, address: u16) -> Option<u16> {
        self.state.lock().holding(unit, address)
    }
}

impl Drop for SimPanel {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

fn check_unit(state: &SimState, unit: u8) -> Result<(), SimError> {
    if state.has_unit(unit) {
        Ok(())
    } else {
        Err(SimError::NoSuchUnit(unit))
    }
}

fn no_such(unit: u8, table: &'static str, address: u16) -> SimError {
    SimError::NoSuchAddress {
        unit,
        table,
        address,
    }
}

fn refused(unit: u8, table: &'static str, address: u16, code: ExceptionCode) -> SimError {
    match code {
        ExceptionCode::IllegalDataAddress => no_such(unit, table, address),
        ExceptionCode::GatewayTargetDevice => SimError::NoSuchUnit(unit),
        other => SimError::Refused {
            unit,
            reason: format!("{other:?}"),
        },
    }
}

/// A client connection that counts as open in [`SimPanel::connections`] until dropped.
#[derive(Debug)]
struct Tracked {
    stream: TcpStream,
    _token: TaskTrackerToken,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
