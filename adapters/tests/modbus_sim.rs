//! Modbus-specific behaviour of the adapter against the simulated panel (TCP on loopback):
//! the FC22 fallback, refusals with their exception code, batching, poll timing, value shapes,
//! unknown units, a silent peer, a peer that is absent at start, and configuration errors.

use std::net::SocketAddr;
use std::time::Duration;

use railgate_adapters::conformance::Running;
use railgate_adapters::modbus::{
    Backoff, ModbusAdapter, ModbusConfig, ModbusPoint, Table, Transport,
};
use railgate_adapters::sim::{
    self, SimOptions, SimPanel,
    layout::{io, panel},
};
use railgate_adapters::{
    Adapter, AdapterError, AdapterIo, LinkState, PointId, Quality, Value, WriteError,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const SOON: Duration = Duration::from_secs(2);

async fn sim_panel() -> SimPanel {
    sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { animate: false },
    )
    .await
    .expect("the simulated panel starts on loopback")
}

fn config(addr: SocketAddr, unit: u8, points: Vec<ModbusPoint>) -> ModbusConfig {
    let mut c = ModbusConfig::new(
        "sim-panel",
        Transport::Tcp {
            host: addr.ip().to_string(),
            port: addr.port(),
        },
        unit,
    );
    c.poll_interval = Duration::from_millis(100);
    c.timeout = Duration::from_millis(200);
    c.retries = 1;
    c.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(400),
    };
    c.points = points;
    c
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

fn id(name: &str) -> PointId {
    PointId(name.into())
}

async fn value_of(running: &mut Running, name: &str) -> (Value, Quality) {
    let u = running
        .wait_update(SOON, |u| u.id.0 == name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (u.value, u.quality)
}

#[tokio::test]
async fn register_bits_fall_back_to_read_modify_write_when_fc22_is_refused() {
    let sim = sim_panel().await;
    sim.set_mask_write_supported(false);
    sim.set_holding(panel::UNIT, panel::PGM, 0b1000_0000)
        .unwrap();
    let mut c = config(
        sim.local_addr(),
        panel::UNIT,
        vec![
            point("pgm1", Table::Holding, panel::PGM, 1, Some(0), true),
            point("pgm3", Table::Holding, panel::PGM, 1, Some(2), true),
        ],
    );
    c.mask_write = true;
    let mut running = Running::start(ModbusAdapter::new(c));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    for (name, bit) in [("pgm1", 0), ("pgm3", 2)] {
        let answer = running
            .write(&id(name), Value::Bool(true), SOON)
            .await
            .unwrap();
        assert_eq!(
            answer,
            Ok(()),
            "{name}: the write falls back instead of failing"
        );
        assert_eq!(
            sim.holding(panel::UNIT, panel::PGM).unwrap() & (1 << bit),
            1 << bit
        );
    }
    assert_eq!(
        sim.holding(panel::UNIT, panel::PGM),
        Some(0b1000_0101),
        "the other bits are kept"
    );
    running
        .wait_update(SOON, |u| u.id.0 == "pgm3" && u.value == Value::Bool(true))
        .await
        .unwrap();
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn a_refused_write_keeps_the_exception_code_and_the_link() {
    let sim = sim_panel().await;
    let mut running = Running::start(ModbusAdapter::new(config(
        sim.local_addr(),
        panel::UNIT,
        vec![
            point("pgm", Table::Holding, panel::PGM, 1, None, true),
            point("command", Table::Holding, panel::COMMAND, 1, None, true),
            // Holding 100–101: the panel has only 100, so FC16 is refused with 0x02.
            point("wide", Table::Holding, panel::COMMAND, 2, None, true),
        ],
    )));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    // PGM bits 8–15 must stay 0: IllegalDataValue.
    match running
        .write(&id("pgm"), Value::U16(0x0100), SOON)
        .await
        .unwrap()
    {
        Err(WriteError::Refused(msg)) => {
            assert!(
                msg.contains("0x03") && msg.contains("IllegalDataValue"),
                "{msg}"
            )
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    match running
        .write(&id("wide"), Value::Registers(vec![0, 0]), SOON)
        .await
        .unwrap()
    {
        Err(WriteError::Refused(msg)) => assert!(msg.contains("0x02"), "{msg}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    // A whole register (FC06) lands, and commands run on the panel.
    assert_eq!(
        running
            .write(&id("pgm"), Value::U16(0x00A5), SOON)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(sim.holding(panel::UNIT, panel::PGM), Some(0x00A5));
    assert_eq!(
        running
            .write(
                &id("command"),
                Value::U16(panel::command::ARM_AWAY_P1),
                SOON
            )
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        sim.input_register(panel::UNIT, panel::PARTITION_1),
        Some(panel::state::EXIT_DELAY)
    );
    // Wrong shapes are refused before anything is sent.
    match running
        .write(&id("pgm"), Value::Bool(true), SOON)
        .await
        .unwrap()
    {
        Err(WriteError::NotWritable(msg)) => assert!(msg.contains("pgm"), "{msg}"),
        other => panic!("expected NotWritable, got {other:?}"),
    }
    running
        .expect_no_link_event(Duration::from_millis(300))
        .await
        .unwrap();
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn read_only_points_are_not_writable() {
    let sim = sim_panel().await;
    let mut running = Running::start(ModbusAdapter::new(config(
        sim.local_addr(),
        io::UNIT,
        vec![
            point("di0", Table::DiscreteInput, 0, 1, None, false),
            point("relay1", Table::Coil, 0, 1, None, false),
        ],
    )));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    for name in ["di0", "relay1"] {
        match running
            .write(&id(name), Value::Bool(true), SOON)
            .await
            .unwrap()
        {
            Err(WriteError::NotWritable(msg)) => assert!(msg.contains(name), "{msg}"),
            other => panic!("{name}: expected NotWritable, got {other:?}"),
        }
    }
    assert_eq!(sim.coil(io::UNIT, 0), Some(false));
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn the_alarm_panel_inputs_are_one_request_per_cycle() {
    let sim = sim_panel().await;
    let names = [
        "zones",
        "alarms",
        "p1",
        "p2",
        "battery",
        "temperature",
        "trouble",
    ];
    let addresses = [0u16, 1, 10, 11, 20, 21, 22];
    let points = names
        .iter()
        .zip(addresses)
        .map(|(n, a)| point(n, Table::Input, a, 1, None, false))
        .collect();
    let mut c = config(sim.local_addr(), panel::UNIT, points);
    c.poll_interval = Duration::from_millis(50);
    // The simulated panel answers reads of its unused addresses, so it may opt into gaps.
    c.max_gap = 8;
    let mut running = Running::start(ModbusAdapter::new(c));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    assert_eq!(
        value_of(&mut running, "battery").await,
        (Value::U16(100), Quality::Good)
    );
    assert_eq!(
        value_of(&mut running, "temperature").await,
        (Value::U16(235), Quality::Good)
    );
    // Now count requests over whole cycles: one request per cycle reads all seven points.
    let before = sim.requests();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let requests = sim.requests() - before;
    let cycles = started.elapsed().as_millis() as u64 / 50;
    assert!(
        requests >= cycles / 2 && requests <= cycles + 2,
        "{requests} requests in about {cycles} cycles: expected one request per cycle"
    );
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn poll_cycles_start_every_poll_interval() {
    let sim = sim_panel().await;
    let mut c = config(
        sim.local_addr(),
        io::UNIT,
        vec![point("di0", Table::DiscreteInput, 0, 1, None, false)],
    );
    c.poll_interval = Duration::from_millis(200);
    let mut running = Running::start(ModbusAdapter::new(c));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    let before = sim.requests();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let requests = sim.requests() - before;
    // 2 s / 200 ms = 10 cycles of one request each; never a burst.
    assert!(
        (8..=11).contains(&requests),
        "{requests} requests in 2 s at 200 ms"
    );
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn values_have_the_shape_of_their_points() {
    let sim = sim_panel().await;
    let mut running = Running::start(ModbusAdapter::new(config(
        sim.local_addr(),
        panel::UNIT,
        vec![
            point(
                "battery+temperature",
                Table::Input,
                panel::BATTERY_PERCENT,
                2,
                None,
                false,
            ),
            point(
                "battery",
                Table::Input,
                panel::BATTERY_PERCENT,
                1,
                None,
                false,
            ),
            point("siren", Table::Coil, panel::SIREN, 1, None, false),
            point("pgm1", Table::Holding, panel::PGM, 1, Some(0), false),
        ],
    )));
    assert_eq!(
        value_of(&mut running, "battery+temperature").await,
        (Value::Registers(vec![100, 235]), Quality::Good)
    );
    assert_eq!(value_of(&mut running, "battery").await.0, Value::U16(100));
    assert_eq!(value_of(&mut running, "siren").await.0, Value::Bool(false));
    assert_eq!(value_of(&mut running, "pgm1").await.0, Value::Bool(false));
    // Changes only: a change of one input reports that point, not the others.
    sim.set_input_register(panel::UNIT, panel::BATTERY_PERCENT, 97)
        .unwrap();
    running
        .wait_update(SOON, |u| u.id.0 == "battery" && u.value == Value::U16(97))
        .await
        .unwrap();
    running
        .wait_update(SOON, |u| {
            u.id.0 == "battery+temperature" && u.value == Value::Registers(vec![97, 235])
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        running
            .wait_update(Duration::ZERO, |u| u.id.0 == "siren" || u.id.0 == "pgm1")
            .await
            .is_err(),
        "unchanged points are not reported again"
    );
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn a_relay_write_shows_on_its_feedback_input() {
    let sim = sim_panel().await;
    let mut running = Running::start(ModbusAdapter::new(config(
        sim.local_addr(),
        io::UNIT,
        vec![
            point("relay3", Table::Coil, 2, 1, None, true),
            point(
                "relay3-feedback",
                Table::DiscreteInput,
                io::FEEDBACK_FIRST_INPUT + 2,
                1,
                None,
                false,
            ),
        ],
    )));
    assert_eq!(
        value_of(&mut running, "relay3-feedback").await.0,
        Value::Bool(false)
    );
    assert_eq!(
        running
            .write(&id("relay3"), Value::Bool(true), SOON)
            .await
            .unwrap(),
        Ok(())
    );
    running
        .wait_update(Duration::from_millis(500), |u| {
            u.id.0 == "relay3-feedback" && u.value == Value::Bool(true)
        })
        .await
        .unwrap();
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn an_unknown_unit_is_bad_quality_not_a_broken_link() {
    let sim = sim_panel().await;
    let mut running = Running::start(ModbusAdapter::new(config(
        sim.local_addr(),
        9,
        vec![point("x", Table::Input, 0, 1, None, false)],
    )));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    assert_eq!(
        value_of(&mut running, "x").await,
        (Value::U16(0), Quality::Bad)
    );
    running
        .expect_no_link_event(Duration::from_millis(500))
        .await
        .unwrap();
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn a_silent_peer_times_out_and_is_down() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let mut c = config(addr, 1, vec![point("x", Table::Input, 0, 1, None, false)]);
    c.timeout = Duration::from_millis(100);
    c.retries = 2;
    let started = Instant::now();
    let mut running = Running::start(ModbusAdapter::new(c));
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    let took = started.elapsed();
    assert!(
        down.reason
            .as_deref()
            .unwrap_or("")
            .contains("no response within 100 ms"),
        "{down:?}"
    );
    // Three attempts of 100 ms each, no more (and not much less).
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    running.stop(SOON).await.unwrap();
    hold.abort();
}

#[tokio::test]
async fn a_peer_absent_at_start_is_down_once_then_up_when_it_appears() {
    // A free port: bind, note, release.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut running = Running::start(ModbusAdapter::new(config(
        addr,
        io::UNIT,
        vec![point("relay1", Table::Coil, 0, 1, None, true)],
    )));
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(down.reason.unwrap().contains("connect"));
    match running
        .write(&id("relay1"), Value::Bool(true), SOON)
        .await
        .unwrap()
    {
        Err(WriteError::LinkDown(reason)) => assert!(reason.contains("connect"), "{reason}"),
        other => panic!("expected LinkDown, got {other:?}"),
    }
    running
        .expect_no_link_event(Duration::from_millis(600))
        .await
        .unwrap();
    let _sim = sim::start(addr, SimOptions { animate: false })
        .await
        .unwrap();
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    assert_eq!(
        value_of(&mut running, "relay1").await,
        (Value::Bool(false), Quality::Good)
    );
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn an_impossible_configuration_is_a_config_error() {
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let cases = [
        (vec![point("c", Table::Coil, 0, 2, None, false)], "one bit"),
        (
            vec![point("w", Table::Input, 0, 1, None, true)],
            "read-only",
        ),
        (
            vec![point("b", Table::Holding, 0, 1, Some(16), false)],
            "bit 16",
        ),
    ];
    for (points, expected) in cases {
        let (events, _e) = tokio::sync::mpsc::channel(8);
        let (_c, commands) = tokio::sync::mpsc::channel(8);
        let io = AdapterIo { events, commands };
        let adapter = ModbusAdapter::new(config(addr, 1, points));
        assert!(adapter.plan().is_err());
        match tokio::time::timeout(SOON, adapter.run(io, CancellationToken::new())).await {
            Ok(Err(AdapterError::Config(msg))) => {
                assert!(msg.contains(expected) && msg.contains("sim-panel"), "{msg}")
            }
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }
    let mut rtu = config(addr, 1, vec![]);
    rtu.transport = Transport::Rtu {
        device: "/dev/null".into(),
        line: railgate_adapters::serial::LineSettings {
            baud: 9600,
            parity: railgate_adapters::modbus::Parity::Even,
            data_bits: 9,
            stop_bits: 1,
            rs485: Default::default(),
        },
    };
    let err = ModbusAdapter::new(rtu).plan().unwrap_err();
    assert!(err.to_string().contains("data bits"), "{err}");
}

#[tokio::test]
async fn a_missing_serial_device_is_a_down_link_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(
        "127.0.0.1:1".parse().unwrap(),
        1,
        vec![point("x", Table::Input, 0, 1, None, false)],
    );
    c.transport = Transport::Rtu {
        device: dir.path().join("ttyNONE"),
        line: railgate_adapters::serial::LineSettings {
            baud: 19200,
            parity: railgate_adapters::modbus::Parity::None,
            data_bits: 8,
            stop_bits: 1,
            rs485: Default::default(),
        },
    };
    let mut running = Running::start(ModbusAdapter::new(c));
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(down.reason.unwrap().contains("ttyNONE"));
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn the_inter_frame_delay_separates_every_request() {
    let sim = sim_panel().await;
    // Three requests per cycle (discrete inputs, input registers, coils), polled back to back.
    let mut c = config(
        sim.local_addr(),
        io::UNIT,
        vec![
            point("di0", Table::DiscreteInput, 0, 1, None, false),
            point("temperature", Table::Input, io::TEMPERATURE, 1, None, false),
            point("relay1", Table::Coil, 0, 1, None, true),
        ],
    );
    c.poll_interval = Duration::ZERO;
    c.inter_frame_delay = Duration::from_millis(100);
    let mut running = Running::start(ModbusAdapter::new(c));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    let before = sim.requests();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let requests = sim.requests() - before;
    assert!(
        (7..=11).contains(&requests),
        "{requests} requests in 1 s with 100 ms between them"
    );
    // A write waits its turn too, but is still served.
    assert_eq!(
        running
            .write(&id("relay1"), Value::Bool(true), SOON)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(sim.coil(io::UNIT, 0), Some(true));
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn writes_go_before_the_rest_of_a_poll_cycle() {
    let sim = sim_panel().await;
    sim.add_scratch_unit(10).unwrap();
    // Ten separate read requests per cycle, 100 ms apart: a cycle takes over a second.
    let mut points: Vec<ModbusPoint> = (0..10u16)
        .map(|i| point(&format!("hr{i}"), Table::Holding, i * 100, 1, None, false))
        .collect();
    points.push(point("hr5000", Table::Holding, 5000, 1, None, true));
    let mut c = config(sim.local_addr(), 10, points);
    c.poll_interval = Duration::ZERO;
    c.inter_frame_delay = Duration::from_millis(100);
    let mut running = Running::start(ModbusAdapter::new(c));
    running
        .wait_link(LinkState::Up, Duration::from_secs(5))
        .await
        .unwrap();
    for (n, wait) in [130u64, 370, 610].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let asked = Instant::now();
        let value = Value::U16(n as u16 + 1);
        assert_eq!(
            running.write(&id("hr5000"), value, SOON).await.unwrap(),
            Ok(())
        );
        let took = asked.elapsed();
        assert!(
            took < Duration::from_millis(450),
            "write {n} took {took:?}: it waited for the poll cycle to end"
        );
    }
    assert_eq!(sim.holding(10, 5000), Some(3));
    running.stop(SOON).await.unwrap();
}

#[tokio::test]
async fn an_adapter_without_points_stays_responsive() {
    // Single-threaded runtime: a busy loop in the adapter would hang this test.
    let sim = sim_panel().await;
    let mut c = config(sim.local_addr(), io::UNIT, vec![]);
    c.poll_interval = Duration::ZERO;
    let mut running = Running::start(ModbusAdapter::new(c));
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    match running
        .write(&id("nothing"), Value::Bool(true), SOON)
        .await
        .unwrap()
    {
        Err(WriteError::NotWritable(_)) => {}
        other => panic!("expected NotWritable, got {other:?}"),
    }
    let before = sim.requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.requests(), before, "nothing to read: no requests");
    running.stop(SOON).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_never_crash_the_adapter() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Answers every request with random bytes: random MBAP headers, lengths and PDUs, and
    // sometimes a well-formed header with a nonsense body.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 260];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n < 7 {
                        break;
                    }
                    let body_len = fastrand::usize(0..40);
                    let mut answer: Vec<u8> = (0..body_len).map(|_| fastrand::u8(..)).collect();
                    if fastrand::bool() && answer.len() >= 8 {
                        // Echo the transaction id and unit, claim a plausible length.
                        answer[..2].copy_from_slice(&buf[..2]);
                        answer[2..4].copy_from_slice(&[0, 0]);
                        let len = (answer.len() - 6) as u16;
                        answer[4..6].copy_from_slice(&len.to_be_bytes());
                        answer[6] = buf[6];
                    }
                    if stream.write_all(&answer).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let mut c = config(
        addr,
        1,
        vec![
            point("coil", Table::Coil, 0, 1, None, true),
            point("di", Table::DiscreteInput, 0, 1, None, false),
            point("hr", Table::Holding, 0, 2, None, true),
            point("ir", Table::Input, 0, 1, Some(3), false),
        ],
    );
    c.timeout = Duration::from_millis(50);
    c.backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(20),
    };
    let mut running = Running::start(ModbusAdapter::new(c));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let _ = running
            .write(&id("hr"), Value::Registers(vec![1, 2]), SOON)
            .await
            .expect("every write is answered");
        let _ = running.latest(&id("hr"));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!running.finished(), "the adapter ended (panicked?)");
    }
    running.stop(SOON).await.expect("stops cleanly, no panic");
    peer.abort();
}
