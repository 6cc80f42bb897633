//! Interoperability with an independent Modbus implementation: pymodbus servers
//! (`tests/peers/modbus_server.py`) polled by the Modbus adapter over TCP on loopback and over
//! RTU through a socat pseudo-terminal pair.
//!
//! Python comes from `$RAILGATE_PYTHON`, else `<workspace>/.venv/bin/python` (created by
//! `tests/run` from `tests/interop/requirements.txt`). Without pymodbus, or without socat for
//! the RTU test, the tests FAIL with instructions: they are never skipped silently.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

mod support;

use railgate_adapters::conformance::Running;
use railgate_adapters::modbus::{
    Backoff, Buses, ModbusAdapter, ModbusConfig, ModbusPoint, Table, Transport,
};
use railgate_adapters::{LinkState, PointId, Quality, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use support::pty::PtyPair;

const SOON: Duration = Duration::from_secs(3);

fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/modbus_server.py")
}

/// The Python with pymodbus, or a panic saying how to get one.
fn python() -> PathBuf {
    let python = support::python();
    let ok = support::succeeds(&python, &["-c", "import pymodbus, serial"]);
    assert!(
        ok,
        "pymodbus (and pyserial) are needed by the Modbus interop tests, but `{} -c 'import pymodbus, serial'` failed.\n\
         Set RAILGATE_PYTHON to a Python that has them, or create the workspace venv:\n  \
         python3 -m venv .venv && .venv/bin/pip install -r tests/interop/requirements.txt",
        python.display()
    );
    python
}

/// A child process killed when the guard drops (test passed, failed or panicked).
struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    fn spawn(command: &mut Command) -> ChildGuard {
        let child = command
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        ChildGuard { child }
    }

    async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A running pymodbus server and the lines it prints.
struct PyServer {
    guard: ChildGuard,
    lines: mpsc::UnboundedReceiver<String>,
}

impl PyServer {
    async fn start(args: &[&str]) -> (PyServer, String) {
        let mut command = Command::new(python());
        command
            .arg(server_script())
            .args(args)
            // Held open: the server exits when the test process is gone.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = ChildGuard::spawn(&mut command);
        let stdout = guard.child.stdout.take().expect("piped stdout");
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.recv())
            .await
            .expect("the pymodbus server did not report READY within 20 s")
            .expect("the pymodbus server exited before READY (see its stderr above)");
        assert!(ready.starts_with("READY"), "unexpected first line: {ready}");
        (PyServer { guard, lines }, ready)
    }

    /// Waits for the server to report a write of `values` by function `fc` at `address`.
    async fn expect_write(&mut self, fc: u8, address: u16, values: &[u16]) {
        self.expect_unit_write(None, fc, address, values).await;
    }

    /// Waits for the server to report a write (to `unit`, if given; see `--units`).
    async fn expect_unit_write(&mut self, unit: Option<u8>, fc: u8, address: u16, values: &[u16]) {
        let deadline = tokio::time::Instant::now() + SOON;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("the server saw no FC{fc} write at {address} of {values:?}")
                })
                .expect("the server's output ended");
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let seen: Vec<u64> = json["values"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
                .unwrap_or_default();
            if json["fc"] == fc
                && unit.is_none_or(|unit| json["unit"] == unit)
                && json["address"] == address
                && seen == values.iter().map(|&v| u64::from(v)).collect::<Vec<_>>()
            {
                return;
            }
        }
    }
}

fn point(
    name: &str,
    table: Table,
    address: u16,
    count: u16,
    bit: Option<u8>,
    writable: bool,
) -> ModbusPoint {
    ModbusPoint {
        id: PointId(name.into()),
        table,
        address,
        count,
        bit,
        writable,
        polled: true,
    }
}

/// The points of the server's unit 1 (see the script's doc).
fn points() -> Vec<ModbusPoint> {
    vec![
        point("coil0", Table::Coil, 0, 1, None, true),
        point("coil3", Table::Coil, 3, 1, None, true),
        point("di0", Table::DiscreteInput, 0, 1, None, false),
        point("di3", Table::DiscreteInput, 3, 1, None, false),
        point("di5", Table::DiscreteInput, 5, 1, None, false),
        point("hr0-1", Table::Holding, 0, 2, None, false),
        point("hr2", Table::Holding, 2, 1, None, true),
        point("hr4-5", Table::Holding, 4, 2, None, true),
        point("hr10-bit0", Table::Holding, 10, 1, Some(0), true),
        point("hr10-bit1", Table::Holding, 10, 1, Some(1), false),
        point("ir0", Table::Input, 0, 1, None, false),
        point("ir1", Table::Input, 1, 1, None, false),
        point("ir-missing", Table::Input, 50, 1, None, false),
    ]
}

fn config(transport: Transport) -> ModbusConfig {
    let mut c = ModbusConfig::new("pymodbus", transport, 1);
    c.poll_interval = Duration::from_millis(100);
    c.timeout = Duration::from_millis(300);
    c.retries = 1;
    c.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    };
    c.points = points();
    c
}

async fn expect(running: &mut Running, name: &str, value: Value, quality: Quality) {
    running
        .wait_update(SOON, |u| {
            u.id.0 == name && u.value == value && u.quality == quality
        })
        .await
        .unwrap_or_else(|e| panic!("{name} = {value:?} ({quality:?}): {e}"));
}

/// The initial state of the server, as the adapter must report it.
async fn expect_initial_readings(running: &mut Running) {
    expect(running, "coil0", Value::Bool(true), Quality::Good).await;
    expect(running, "coil3", Value::Bool(false), Quality::Good).await;
    expect(running, "di0", Value::Bool(true), Quality::Good).await;
    expect(running, "di3", Value::Bool(true), Quality::Good).await;
    expect(running, "di5", Value::Bool(false), Quality::Good).await;
    expect(
        running,
        "hr0-1",
        Value::Registers(vec![0x1234, 0x5678]),
        Quality::Good,
    )
    .await;
    expect(running, "hr2", Value::U16(250), Quality::Good).await;
    expect(running, "hr10-bit0", Value::Bool(false), Quality::Good).await;
    expect(running, "hr10-bit1", Value::Bool(true), Quality::Good).await;
    expect(running, "ir0", Value::U16(1000), Quality::Good).await;
    expect(running, "ir1", Value::U16(2000), Quality::Good).await;
    expect(running, "ir-missing", Value::U16(0), Quality::Bad).await;
}

/// Every kind of write lands in the server (its own report) and is read back.
async fn write_everything(running: &mut Running, server: &mut PyServer) {
    let write = |name: &str, value: Value| (PointId(name.into()), value);
    for (id, value, fc, address, wire) in [
        (write("coil3", Value::Bool(true)), 5u8, 3u16, vec![1u16]),
        (write("hr2", Value::U16(999)), 6, 2, vec![999]),
        (
            write("hr4-5", Value::Registers(vec![7, 8])),
            16,
            4,
            vec![7, 8],
        ),
        // FC22 on 0b1010: the server reports the register's new value.
        (write("hr10-bit0", Value::Bool(true)), 22, 10, vec![0b1011]),
    ]
    .into_iter()
    .map(|((id, value), fc, address, wire)| (id, value, fc, address, wire))
    {
        let answer = running.write(&id, value.clone(), SOON).await.unwrap();
        assert_eq!(answer, Ok(()), "write {id} = {value:?}");
        server.expect_write(fc, address, &wire).await;
        expect(running, &id.0, value, Quality::Good).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_tcp_server_is_polled_written_lost_and_recovered() {
    let (mut server, ready) = PyServer::start(&["tcp", "127.0.0.1", "0"]).await;
    let port: u16 = ready
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {ready:?}"));
    let mut running = Running::start(ModbusAdapter::new(config(Transport::Tcp {
        host: "127.0.0.1".into(),
        port,
    })));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    expect_initial_readings(&mut running).await;
    write_everything(&mut running, &mut server).await;

    // The server process dies: one Down event, stale points.
    server.guard.kill().await;
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(down.reason.is_some());
    expect(&mut running, "ir0", Value::U16(1000), Quality::Stale).await;

    // It returns on the same port (with its initial state): Up, fresh readings.
    let port = port.to_string();
    let (_server, _) = PyServer::start(&["tcp", "127.0.0.1", &port]).await;
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    expect(&mut running, "coil3", Value::Bool(false), Quality::Good).await;
    expect(&mut running, "ir0", Value::U16(1000), Quality::Good).await;
    running.stop(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_rtu_server_over_a_pty_is_polled_written_lost_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let mut pty = PtyPair::start(dir.path()).await;
    let master = pty.a.clone();
    let slave = pty.b.to_string_lossy().into_owned();
    let (mut server, _) = PyServer::start(&["rtu", &slave]).await;
    let mut running = Running::start(ModbusAdapter::new(config(Transport::Rtu {
        device: master,
        line: railgate_adapters::serial::LineSettings::eight_n_one(19200),
    })));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    expect_initial_readings(&mut running).await;
    write_everything(&mut running, &mut server).await;

    server.guard.kill().await;
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(
        down.reason.as_deref().unwrap_or("").contains("no response"),
        "{down:?}"
    );
    expect(&mut running, "di0", Value::Bool(true), Quality::Stale).await;

    let (server, _) = PyServer::start(&["rtu", &slave]).await;
    running
        .wait_link(LinkState::Up, Duration::from_secs(5))
        .await
        .unwrap();
    expect(&mut running, "hr2", Value::U16(250), Quality::Good).await;

    // The USB adapter is pulled: the device node disappears. Down, with the port's reason;
    // reopening fails (no such file) and is retried with backoff.
    pty.unplug().await;
    drop(server);
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(down.reason.is_some(), "{down:?}");
    expect(&mut running, "hr2", Value::U16(250), Quality::Stale).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Plugged back at the same path, with the device on it: Up again, no restart.
    pty.plug().await;
    let (_server, _) = PyServer::start(&["rtu", &slave]).await;
    running
        .wait_link(LinkState::Up, Duration::from_secs(10))
        .await
        .unwrap();
    expect(&mut running, "hr2", Value::U16(250), Quality::Good).await;
    running.stop(Duration::from_secs(1)).await.unwrap();
}

/// The points of one unit of `modbus_server.py rtu DEV --units ...`, named `<unit>/<point>`.
fn unit_config(device: &Path, unit: u8) -> ModbusConfig {
    let mut c = config(Transport::Rtu {
        device: device.to_path_buf(),
        line: railgate_adapters::serial::LineSettings::eight_n_one(19200),
    });
    c.name = format!("unit{unit}");
    c.unit = unit;
    c.points = vec![
        point(&format!("{unit}/coil3"), Table::Coil, 3, 1, None, true),
        point(&format!("{unit}/hr2"), Table::Holding, 2, 1, None, true),
        point(&format!("{unit}/ir0"), Table::Input, 0, 1, None, false),
    ];
    c
}

/// RS-485 multi-drop: units 5 and 6 served by one pymodbus process on one pty, and unit 7 that
/// nobody answers, all three on one serial port of the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_on_one_pty_share_it_and_a_silent_one_goes_down_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path()).await;
    let master = pty.a.clone();
    let slave = pty.b.to_string_lossy().into_owned();
    let (mut server, _) = PyServer::start(&["rtu", &slave, "--units", "5,6"]).await;

    let mut buses = Buses::new();
    let mut five = Running::start(buses.adapter(unit_config(&master, 5)));
    let mut six = Running::start(buses.adapter(unit_config(&master, 6)));
    let mut seven = Running::start(buses.adapter(unit_config(&master, 7)));
    let tasks = buses.into_tasks();
    assert_eq!(tasks.len(), 1, "one bus task for the one port");
    let bus = tasks
        .into_iter()
        .map(|t| tokio::spawn(t.run()))
        .collect::<Vec<_>>();

    // Both answering units are up, each with its own values (IR0 = 1000 × unit).
    five.wait_link(LinkState::Up, SOON).await.unwrap();
    six.wait_link(LinkState::Up, SOON).await.unwrap();
    expect(&mut five, "5/ir0", Value::U16(5000), Quality::Good).await;
    expect(&mut six, "6/ir0", Value::U16(6000), Quality::Good).await;

    // The silent unit goes down on its own; the port stays usable for the others.
    let down = seven.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(
        down.reason.as_deref().unwrap_or("").contains("no response"),
        "{down:?}"
    );

    // Writes to both answering units land on the right unit and are read back, while unit 7
    // keeps failing its reconnect attempts in between.
    for (running, unit) in [(&mut five, 5u8), (&mut six, 6)] {
        let coil = PointId(format!("{unit}/coil3"));
        assert_eq!(
            running.write(&coil, Value::Bool(true), SOON).await.unwrap(),
            Ok(())
        );
        server.expect_unit_write(Some(unit), 5, 3, &[1]).await;
        expect(running, &coil.0, Value::Bool(true), Quality::Good).await;
        let hr2 = PointId(format!("{unit}/hr2"));
        let value = 100 + u16::from(unit);
        assert_eq!(
            running.write(&hr2, Value::U16(value), SOON).await.unwrap(),
            Ok(())
        );
        server.expect_unit_write(Some(unit), 6, 2, &[value]).await;
        expect(running, &hr2.0, Value::U16(value), Quality::Good).await;
    }
    // Unit 7's retries (backoff 100–500 ms, each attempt 300 ms of silence) run during this
    // window; units 5 and 6 stay up throughout.
    let (a, b) = tokio::join!(
        five.expect_no_link_event(Duration::from_secs(2)),
        six.expect_no_link_event(Duration::from_secs(2))
    );
    a.unwrap();
    b.unwrap();
    // A write to the silent unit is refused as LinkDown, not lost.
    let answer = seven
        .write(&PointId("7/coil3".into()), Value::Bool(true), SOON)
        .await
        .unwrap();
    assert!(
        matches!(answer, Err(railgate_adapters::WriteError::LinkDown(_))),
        "{answer:?}"
    );

    // Stopping every controller ends the bus task.
    five.stop(Duration::from_secs(1)).await.unwrap();
    six.stop(Duration::from_secs(1)).await.unwrap();
    seven.stop(Duration::from_secs(1)).await.unwrap();
    for task in bus {
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the bus task ends after its controllers")
            .unwrap();
    }
}
