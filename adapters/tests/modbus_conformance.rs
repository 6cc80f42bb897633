//! The conformance suite for the Modbus adapter, against the simulated panel over TCP on
//! loopback (each test has its own panel on an ephemeral port).

use std::net::SocketAddr;
use std::time::Duration;

use railgate_adapters::PointId;
use railgate_adapters::conformance::{self, Fixture, Settings, SimPeer, SimPoint, Subject};
use railgate_adapters::modbus::{
    Backoff, ModbusAdapter, ModbusConfig, ModbusPoint, Table, Transport,
};
use railgate_adapters::sim::{
    self, SimOptions,
    layout::{io, panel},
};

/// Builds Modbus adapters for one unit of the simulated panel.
struct ModbusSubject {
    addr: SocketAddr,
    unit: u8,
    mask_write: bool,
    points: Vec<ModbusPoint>,
}

impl Subject for ModbusSubject {
    type Adapter = ModbusAdapter;

    fn build(&self, settings: &Settings) -> ModbusAdapter {
        let mut config = ModbusConfig::new(
            "conformance-panel",
            Transport::Tcp {
                host: self.addr.ip().to_string(),
                port: self.addr.port(),
            },
            self.unit,
        );
        config.poll_interval = settings.poll_interval;
        config.timeout = Duration::from_millis(200);
        config.retries = 1;
        config.mask_write = self.mask_write;
        config.backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        };
        config.points = self.points.clone();
        ModbusAdapter::new(config)
    }
}

fn id(name: &str) -> PointId {
    PointId(format!("panel/{name}"))
}

fn point(
    name: &str,
    table: Table,
    address: u16,
    bit: Option<u8>,
    writable: bool,
) -> (ModbusPoint, SimPoint) {
    (
        ModbusPoint {
            id: id(name),
            table,
            address,
            count: 1,
            bit,
            writable,
            polled: true,
        },
        SimPoint {
            unit: 0, // filled in by `fixture`
            table,
            address,
            bit,
        },
    )
}

async fn fixture(
    unit: u8,
    mask_write: bool,
    points: Vec<(ModbusPoint, SimPoint)>,
    input: &str,
    outputs: &[&str],
    refused: Option<&str>,
) -> Fixture<SimPeer, ModbusSubject> {
    let panel = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { animate: false },
    )
    .await
    .expect("the simulated panel starts on loopback");
    let addr = panel.local_addr();
    let mut peer = SimPeer::new(panel);
    for (modbus, sim) in &points {
        peer = peer.with_point(&modbus.id, SimPoint { unit, ..*sim });
    }
    Fixture {
        peer,
        subject: ModbusSubject {
            addr,
            unit,
            mask_write,
            points: points.iter().map(|(m, _)| m.clone()).collect(),
        },
        points: points.iter().map(|(m, _)| m.id.clone()).collect(),
        input: id(input),
        outputs: outputs.iter().map(|o| id(o)).collect(),
        refused: refused.map(id),
        poll_interval: Duration::from_millis(100),
        detect_within: Duration::from_millis(1000),
        recover_within: Duration::from_millis(1500),
        slack: Duration::from_millis(500),
    }
}

/// Unit 2 (the alarm panel): a zone bit as the input, the Aux1 coil and PGM1 (a holding
/// register bit) as outputs, the battery register, and an address the panel does not have.
async fn alarm_panel(mask_write: bool) -> Fixture<SimPeer, ModbusSubject> {
    fixture(
        panel::UNIT,
        mask_write,
        vec![
            point("zone1-open", Table::Input, panel::ZONE_OPEN, Some(0), false),
            point("battery", Table::Input, panel::BATTERY_PERCENT, None, false),
            point("aux1", Table::Coil, panel::AUX1, None, true),
            point("pgm1", Table::Holding, panel::PGM, Some(0), true),
            point("pgm5", Table::Holding, panel::PGM, Some(4), true),
            point("unmapped", Table::Input, 50, None, false),
        ],
        "zone1-open",
        &["aux1", "pgm1", "pgm5"],
        Some("unmapped"),
    )
    .await
}

/// Unit 1 (the I/O module): a discrete input, relay coils and their feedback inputs.
async fn io_module() -> Fixture<SimPeer, ModbusSubject> {
    fixture(
        io::UNIT,
        true,
        vec![
            point("di0", Table::DiscreteInput, 0, None, false),
            point("relay1", Table::Coil, 0, None, true),
            point("relay8", Table::Coil, 7, None, true),
            point("relay1-feedback", Table::DiscreteInput, 8, None, false),
            point("temperature", Table::Input, io::TEMPERATURE, None, false),
            point("supply", Table::Input, io::SUPPLY_MV, None, false),
        ],
        "di0",
        &["relay1", "relay8"],
        None,
    )
    .await
}

macro_rules! conformance_tests {
    ($($name:ident: $fixture:expr => $check:path;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fx = $fixture.await;
                if let Err(failure) = $check(&fx).await {
                    panic!("{}: {failure}", stringify!($check));
                }
            }
        )*
    };
}

conformance_tests! {
    alarm_panel_initial_readings: alarm_panel(true) => conformance::initial_readings;
    alarm_panel_input_change_reported: alarm_panel(true) => conformance::input_change_reported;
    alarm_panel_peer_loss: alarm_panel(true) => conformance::peer_loss;
    alarm_panel_peer_return: alarm_panel(true) => conformance::peer_return;
    alarm_panel_write_round_trip_mask_write: alarm_panel(true) => conformance::write_round_trip;
    alarm_panel_write_round_trip_read_modify_write: alarm_panel(false) => conformance::write_round_trip;
    alarm_panel_refused_read_is_bad: alarm_panel(true) => conformance::refused_read_is_bad;
    alarm_panel_unknown_write_refused: alarm_panel(true) => conformance::unknown_write_refused;
    alarm_panel_repeat_not_reported: alarm_panel(true) => conformance::repeat_not_reported;
    alarm_panel_input_write_refused: alarm_panel(true) => conformance::input_write_refused;
    alarm_panel_garbage_survived: alarm_panel(true) => conformance::garbage_survived;
    alarm_panel_clean_stop: alarm_panel(true) => conformance::clean_stop;
    alarm_panel_stop_while_down: alarm_panel(true) => conformance::stop_while_down;
    io_module_initial_readings: io_module() => conformance::initial_readings;
    io_module_input_change_reported: io_module() => conformance::input_change_reported;
    io_module_write_round_trip: io_module() => conformance::write_round_trip;
    io_module_peer_return: io_module() => conformance::peer_return;
    io_module_clean_stop: io_module() => conformance::clean_stop;
}
