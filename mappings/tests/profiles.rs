//! Profiles: the built-in ones compile to the layout the simulated panel serves, instances
//! get their prefixes and offsets, and problems are reported against the right file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use railgate_adapters::PointId;
use railgate_adapters::modbus::{ModbusConfig, ModbusPoint, Table, Transport};
use railgate_mappings::plan::{IdleState, ItemType, Link, Plan, RelayMode, WireType, WriteValue};
use railgate_mappings::{builtin_profiles, load_demo, load_file, load_str};

fn instance(profile: &str, extra: &str) -> Plan {
    let text = format!(
        "controllers:\n  - name: c\n    modbus_tcp: {{host: 127.0.0.1}}\n    unit: 3\n    address_base: 0\n    profile: {{name: {profile}{extra}}}\n"
    );
    load_str(Path::new("site.yaml"), &text).unwrap_or_else(|d| panic!("{d}"))
}

fn modbus(plan: &Plan, name: &str) -> ModbusConfig {
    let c = plan
        .controllers
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("controller {name}"));
    let Link::Modbus(m) = &c.link else {
        panic!("not a Modbus controller")
    };
    m.clone()
}

fn id(s: &str) -> PointId {
    PointId(s.to_string())
}

#[test]
fn every_builtin_profile_instantiates() {
    let names: Vec<&str> = builtin_profiles().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "generic-io-16di-8do",
            "generic-alarm-panel",
            "moxa-iologik-e1210",
            "moxa-iologik-e1211",
            "moxa-iologik-e1212",
            "moxa-iologik-e1212-dio-out",
            "moxa-iologik-e1214",
            "advantech-adam-6050",
            "advantech-adam-6060",
            "advantech-adam-4055",
            "generic-relay-8ch-rtu",
        ]
    );
    for (name, text) in builtin_profiles() {
        assert!(text.contains("address_base"), "{name}");
        assert!(text.contains("\ndescription: "), "{name}");
        let plan = instance(name, "");
        assert!(!plan.inputs.is_empty() || !plan.relays.is_empty(), "{name}");
        // With a prefix and an offset every token carries the prefix and every point moves.
        let moved = instance(name, ", token_prefix: X-, address_offset: 100");
        assert_eq!(moved.inputs.len(), plan.inputs.len(), "{name}");
        assert_eq!(moved.relays.len(), plan.relays.len(), "{name}");
        for (a, b) in plan.inputs.iter().zip(&moved.inputs) {
            assert_eq!(format!("X-{}", a.token), b.token, "{name}");
            assert_eq!(
                address(&plan, &a.point) + 100,
                address(&moved, &b.point),
                "{name}"
            );
        }
        for (a, b) in plan.relays.iter().zip(&moved.relays) {
            assert_eq!(format!("X-{}", a.token), b.token, "{name}");
            assert_eq!(
                address(&plan, &a.write) + 100,
                address(&moved, &b.write),
                "{name}"
            );
        }
    }
}

/// The wire address of a point of controller `c`.
fn address(plan: &Plan, id: &PointId) -> u16 {
    point(plan, id).address
}

fn point<'a>(plan: &'a Plan, id: &PointId) -> &'a ModbusPoint {
    let Link::Modbus(m) = &plan.controllers[0].link else {
        panic!("not a Modbus controller")
    };
    m.points
        .iter()
        .find(|p| &p.id == id)
        .unwrap_or_else(|| panic!("no point {id:?}"))
}

/// The function code that reads a table.
fn read_fc(table: Table) -> u8 {
    match table {
        Table::Coil => 1,
        Table::DiscreteInput => 2,
        Table::Holding => 3,
        Table::Input => 4,
    }
}

/// An input or a relay of a profile.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Input,
    Relay,
}

/// A channel as the vendor's table lists it: token, kind, the function code that reads it,
/// the wire (0-based) address. The comment of each row gives the manual's own notation.
type Row = (&'static str, Kind, u8, u16);

/// A few channels of every vendor profile, pinned against the vendor's published table (the
/// sources are cited in each profile's header), with the channel counts.
const VENDOR_TABLES: &[(&str, usize, usize, &[Row])] = &[
    // ioLogik E1200 manual, Appendix A, E1210: 1xxxx 10001/0x0000 .. 10016/0x000F.
    (
        "moxa-iologik-e1210",
        16,
        0,
        &[
            ("DI0", Kind::Input, 2, 0x0000),
            ("DI7", Kind::Input, 2, 0x0007),
            ("DI15", Kind::Input, 2, 0x000F),
        ],
    ),
    // E1211: 0xxxx 00001/0x0000 .. 00016/0x000F.
    (
        "moxa-iologik-e1211",
        0,
        16,
        &[
            ("DO0", Kind::Relay, 1, 0x0000),
            ("DO8", Kind::Relay, 1, 0x0008),
            ("DO15", Kind::Relay, 1, 0x000F),
        ],
    ),
    // E1212: 1xxxx CH0-CH7 DI 0x0000-0x0007, CH8-CH15 (DIO as DI) 0x0008-0x000F.
    (
        "moxa-iologik-e1212",
        16,
        0,
        &[
            ("DI0", Kind::Input, 2, 0x0000),
            ("DI7", Kind::Input, 2, 0x0007),
            ("DIO0", Kind::Input, 2, 0x0008),
            ("DIO7", Kind::Input, 2, 0x000F),
        ],
    ),
    // E1212: 0xxxx CH0-CH7 DO value (DIO as DO) 00001/0x0000 .. 00008/0x0007.
    (
        "moxa-iologik-e1212-dio-out",
        8,
        8,
        &[
            ("DI0", Kind::Input, 2, 0x0000),
            ("DI7", Kind::Input, 2, 0x0007),
            ("DIO0", Kind::Relay, 1, 0x0000),
            ("DIO7", Kind::Relay, 1, 0x0007),
        ],
    ),
    // E1214: 1xxxx 10001-10006 / 0x0000-0x0005; 0xxxx "DO (Relay)" 00001-00006 / 0x0000-0x0005.
    (
        "moxa-iologik-e1214",
        6,
        6,
        &[
            ("DI0", Kind::Input, 2, 0x0000),
            ("DI5", Kind::Input, 2, 0x0005),
            ("DO0", Kind::Relay, 1, 0x0000),
            ("DO5", Kind::Relay, 1, 0x0005),
        ],
    ),
    // ADAM-6000 manual, Appendix B, ADAM-6050: 0X 00001-00012 DI, 00017-00022 DO (1-based).
    (
        "advantech-adam-6050",
        12,
        6,
        &[
            ("DI0", Kind::Input, 1, 0),
            ("DI11", Kind::Input, 1, 11),
            ("DO0", Kind::Relay, 1, 16),
            ("DO5", Kind::Relay, 1, 21),
        ],
    ),
    // ADAM-6060: 0X 00001-00006 DI, 00017-00022 relays.
    (
        "advantech-adam-6060",
        6,
        6,
        &[
            ("DI0", Kind::Input, 1, 0),
            ("DI5", Kind::Input, 1, 5),
            ("DO0", Kind::Relay, 1, 16),
            ("DO5", Kind::Relay, 1, 21),
        ],
    ),
    // ADAM-4000 manual, Appendix G table 7, ADAM-4055: 0X 00001-00008 DI, 00017-00024 DO.
    (
        "advantech-adam-4055",
        8,
        8,
        &[
            ("DI0", Kind::Input, 1, 0),
            ("DI7", Kind::Input, 1, 7),
            ("DO0", Kind::Relay, 1, 16),
            ("DO7", Kind::Relay, 1, 23),
        ],
    ),
    // Waveshare "Modbus RTU Relay (D)": relays coils 0x0000-0x0007, inputs FC02 0x0000-0x0007.
    (
        "generic-relay-8ch-rtu",
        8,
        8,
        &[
            ("Input1", Kind::Input, 2, 0x0000),
            ("Input8", Kind::Input, 2, 0x0007),
            ("Relay1", Kind::Relay, 1, 0x0000),
            ("Relay8", Kind::Relay, 1, 0x0007),
        ],
    ),
];

#[test]
fn vendor_profiles_match_the_vendor_tables() {
    for &(name, inputs, relays, rows) in VENDOR_TABLES {
        let plan = instance(name, ", token_prefix: V-");
        assert_eq!(
            (plan.inputs.len(), plan.relays.len()),
            (inputs, relays),
            "{name}"
        );
        for &(token, kind, fc, wire) in rows {
            let token = format!("V-{token}");
            let id = match kind {
                Kind::Input => {
                    let i = plan.inputs.iter().find(|i| i.token == token);
                    let i = i.unwrap_or_else(|| panic!("{name}: no input {token}"));
                    assert_eq!(i.idle_state, IdleState::Open, "{name} {token}");
                    i.point.clone()
                }
                Kind::Relay => {
                    let r = plan.relays.iter().find(|r| r.token == token);
                    let r = r.unwrap_or_else(|| panic!("{name}: no relay {token}"));
                    assert_eq!(r.read, r.write, "{name} {token}: reads its own coil back");
                    assert_eq!(r.mode, RelayMode::Bistable, "{name} {token}");
                    r.write.clone()
                }
            };
            let p = point(&plan, &id);
            assert_eq!(
                (read_fc(p.table), p.address, p.count, p.bit),
                (fc, wire, 1, None),
                "{name} {token} ({kind:?})"
            );
            // Relays are written (FC05 on a coil); inputs never are.
            assert_eq!(p.writable, matches!(kind, Kind::Relay), "{name} {token}");
        }
        // No profile writes anything but its relays.
        let Link::Modbus(m) = &plan.controllers[0].link else {
            panic!("not a Modbus controller")
        };
        assert_eq!(
            m.points.iter().filter(|p| p.writable).count(),
            relays,
            "{name}"
        );
        assert!(plan.values.is_empty() && plan.commands.is_empty(), "{name}");
    }
}

#[test]
fn generic_io_module() {
    let plan = instance("generic-io-16di-8do", ", token_prefix: IO-");
    let tokens: Vec<&str> = plan.inputs.iter().map(|i| i.token.as_str()).collect();
    assert_eq!(tokens.len(), 16);
    assert_eq!(tokens[0], "IO-DI1");
    assert_eq!(tokens[15], "IO-DI16");
    assert_eq!(plan.inputs[15].point, id("c/discrete_input/15"));
    assert_eq!(plan.inputs[0].idle_state, IdleState::Open);
    assert_eq!(plan.relays.len(), 8);
    for (i, r) in plan.relays.iter().enumerate() {
        assert_eq!(r.token, format!("IO-DO{}", i + 1));
        assert_eq!(r.write, id(&format!("c/coil/{i}")));
        assert_eq!(r.read, r.write);
        assert_eq!(
            (r.mode, r.idle_state, r.delay),
            (RelayMode::Bistable, IdleState::Open, Duration::ZERO)
        );
    }
    let temp = &plan.values[0];
    assert_eq!(temp.point, id("c/input/0"));
    assert_eq!((temp.decode.wire, temp.decode.scale), (WireType::I16, 0.1));
    assert_eq!(
        temp.event.topic.path,
        "Monitoring/EnvironmentalConditions/Temperature"
    );
    assert_eq!(
        temp.event.topic.namespace,
        "http://www.onvif.org/ver10/topics"
    );
    assert_eq!(
        (temp.event.data_name.as_str(), temp.event.data_type),
        ("Status", ItemType::Float)
    );
    assert!(temp.event.source.is_empty() && temp.event.property);
    let volts = &plan.values[1];
    assert_eq!(volts.point, id("c/input/1"));
    assert_eq!(
        (volts.decode.wire, volts.decode.scale),
        (WireType::U16, 0.001)
    );
    assert_eq!(volts.event.topic.namespace, "urn:railgate:topics");
    assert_eq!(volts.event.topic.path, "Module/SupplyVoltage");
    assert_eq!(
        (volts.event.data_name.as_str(), volts.event.data_type),
        ("Value", ItemType::Float)
    );
    assert_eq!(
        volts.event.source[0].value, "c",
        "${{controller}} is replaced"
    );
    let m = modbus(&plan, "c");
    assert_eq!(m.unit, 3);
    assert_eq!(m.points.len(), 16 + 8 + 2);
    assert!(
        m.points
            .iter()
            .filter(|p| p.table == Table::Coil)
            .all(|p| p.writable)
    );
    assert!(
        m.points
            .iter()
            .filter(|p| p.table != Table::Coil)
            .all(|p| !p.writable)
    );
}

#[test]
fn generic_alarm_panel() {
    let plan = instance("generic-alarm-panel", ", token_prefix: P-");
    let input = |t: &str| {
        plan.inputs
            .iter()
            .find(|i| i.token == t)
            .unwrap_or_else(|| panic!("input {t}"))
    };
    assert_eq!(input("P-Zone1").point, id("c/input/0.0"));
    assert_eq!(input("P-Zone16").point, id("c/input/0.15"));
    assert_eq!(input("P-ZoneAlarm3").point, id("c/input/1.2"));
    assert_eq!(input("P-LowBattery").point, id("c/input/22.1"));
    let relay = |t: &str| {
        plan.relays
            .iter()
            .find(|r| r.token == t)
            .unwrap_or_else(|| panic!("relay {t}"))
    };
    assert_eq!(relay("P-Siren").write, id("c/coil/0"));
    assert_eq!(relay("P-Aux2").write, id("c/coil/3"));
    assert_eq!(relay("P-PGM1").write, id("c/holding/200.0"));
    assert_eq!(relay("P-PGM8").write, id("c/holding/200.7"));

    let value = |n: &str| {
        plan.values
            .iter()
            .find(|v| v.name == n)
            .unwrap_or_else(|| panic!("value {n}"))
    };
    let p2 = value("P-Partition2State");
    assert_eq!(p2.point, id("c/input/11"));
    let map = p2.decode.map.as_ref().expect("map");
    assert_eq!(map.get(&0).map(String::as_str), Some("disarmed"));
    assert_eq!(map.get(&5).map(String::as_str), Some("alarm"));
    assert_eq!(p2.event.topic.path, "Panel/Partition/State");
    assert_eq!(p2.event.source.len(), 1);
    assert_eq!(
        (
            p2.event.source[0].name.as_str(),
            p2.event.source[0].ty,
            p2.event.source[0].value.as_str()
        ),
        ("Partition", ItemType::Int, "2")
    );
    assert_eq!(
        (
            p2.event.data_name.as_str(),
            p2.event.data_type,
            p2.event.property
        ),
        ("State", ItemType::String, true)
    );
    let battery = value("P-Battery");
    assert_eq!(battery.point, id("c/input/20"));
    assert_eq!(battery.event.data_name, "PercentageRemainingCapacity");
    let psu = value("P-PowerSupply");
    assert_eq!(psu.point, id("c/input/22.0"));
    assert_eq!(
        psu.event.topic.path,
        "Device/HardwareFailure/PowerSupplyFailure"
    );
    assert_eq!(psu.event.source[0].name, "Token");
    assert_eq!(psu.event.source[0].value, "P-PowerSupply");
    assert_eq!(
        (psu.event.data_name.as_str(), psu.event.data_type),
        ("Failed", ItemType::Boolean)
    );
    assert_eq!(value("P-EnclosureTemperature").point, id("c/input/21"));

    let command = |c: &str| {
        plan.commands
            .iter()
            .find(|x| x.command == c)
            .unwrap_or_else(|| panic!("command {c}"))
    };
    for (c, v) in [
        ("Arm|P-Partition1", 1),
        ("ArmStay|P-Partition1", 2),
        ("Disarm|P-Partition1", 3),
        ("Arm|P-Partition2", 4),
        ("Disarm|P-Partition2", 5),
        ("Reset|P-Zone1", 17),
        ("Reset|P-Zone16", 32),
    ] {
        assert_eq!(command(c).point, id("c/holding/100"), "{c}");
        assert_eq!(command(c).value, WriteValue::U16(v), "{c}");
    }
    let m = modbus(&plan, "c");
    let holding100 = m
        .points
        .iter()
        .find(|p| p.id == id("c/holding/100"))
        .expect("command register");
    assert!(holding100.writable && holding100.bit.is_none() && holding100.count == 1);
    let pgm = m
        .points
        .iter()
        .find(|p| p.id == id("c/holding/200.3"))
        .expect("pgm");
    assert_eq!(
        (pgm.table, pgm.address, pgm.bit, pgm.writable),
        (Table::Holding, 200, Some(3), true)
    );
}

#[test]
fn address_offset_moves_every_point() {
    let plan = instance("generic-io-16di-8do", ", address_offset: 100");
    assert_eq!(plan.inputs[0].point, id("c/discrete_input/100"));
    assert_eq!(plan.relays[7].write, id("c/coil/107"));
    assert_eq!(plan.values[1].point, id("c/input/101"));
}

#[test]
fn the_demo_site() {
    let plan = load_demo().unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.controllers.len(), 2);
    let io = modbus(&plan, "io");
    let panel = modbus(&plan, "panel");
    assert_eq!((io.unit, panel.unit), (1, 2));
    for m in [&io, &panel] {
        assert_eq!(
            m.transport,
            Transport::Tcp {
                host: "127.0.0.1".into(),
                port: 1502
            }
        );
        assert_eq!(m.poll_interval, Duration::from_millis(100));
    }
    assert!(plan.inputs.iter().any(|i| i.token == "IO-DI1"));
    assert!(plan.inputs.iter().any(|i| i.token == "Panel-Zone1"));
    assert!(plan.relays.iter().any(|r| r.token == "Panel-PGM8"));
    assert!(
        plan.commands
            .iter()
            .any(|c| c.command == "Arm|Panel-Partition1")
    );
    // Every token is unique, inputs among inputs and relays among relays.
    let mut tokens: Vec<&str> = plan.inputs.iter().map(|i| i.token.as_str()).collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), plan.inputs.len());
    // The same text through load_str compiles to the same plan.
    let again = load_str(Path::new("<built-in demo>"), railgate_mappings::DEMO_YAML).expect("demo");
    assert_eq!(again, plan);
}

#[test]
fn two_instances_with_the_same_prefix_clash_once_at_the_instance() {
    let text = "controllers:
  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: generic-io-16di-8do}}
  - {name: b, modbus_tcp: {host: h}, unit: 2, address_base: 0, profile: {name: generic-io-16di-8do}}
";
    let d = load_str(Path::new("site.yaml"), text).expect_err("clash").0;
    assert_eq!(d.len(), 3, "{d:#?}");
    assert!(
        d.iter()
            .all(|d| d.line == 3 && d.path == "controllers[1].profile"),
        "{d:#?}"
    );
    assert!(d.iter().any(|d| d.message.contains(
        "input tokens clash with those of profile `generic-io-16di-8do` on controller `a`"
    ) && d.message.contains("`DI1`")
        && d.message.contains("and 10 more")));
    assert!(d.iter().any(|d| d.message.contains("relay tokens clash")));
    assert!(d.iter().any(|d| d.message.contains("value names clash")));
    // With prefixes, the same two instances are fine.
    let text = text.replace(
        "{name: generic-io-16di-8do}}\n  - ",
        "{name: generic-io-16di-8do, token_prefix: A-}}\n  - ",
    );
    let text = text.replacen(
        "unit: 2, address_base: 0, profile: {name: generic-io-16di-8do}",
        "unit: 2, address_base: 0, profile: {name: generic-io-16di-8do, token_prefix: B-}",
        1,
    );
    let plan = load_str(Path::new("site.yaml"), &text).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.inputs.len(), 32);
}

#[test]
fn a_site_item_overlapping_an_instance_is_reported_at_the_instance() {
    let text = "controllers:
  - {name: io, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: generic-io-16di-8do, address_offset: 10}}
relays:
  - {token: Extra, coil: 12}
";
    let d = load_str(Path::new("site.yaml"), text)
        .expect_err("overlap")
        .0;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (d[0].line, d[0].path.as_str()),
        (2, "controllers[0].profile")
    );
    assert!(
        d[0].message.contains("collide with those of line 4"),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.contains("`DO3` with relay `Extra`"),
        "{}",
        d[0].message
    );
}

#[test]
fn an_offset_beyond_the_address_range_is_the_instance_problem() {
    let text = "controllers:
  - {name: io, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: generic-io-16di-8do, address_offset: 65530}}
";
    let d = load_str(Path::new("site.yaml"), text).expect_err("range").0;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "controllers[0].profile");
    assert!(
        d[0].message.contains("beyond the Modbus address range") && d[0].message.contains("`DI7`")
    );
}

#[test]
fn two_alarm_panels_need_distinguishable_partition_events() {
    let text = "controllers:
  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: generic-alarm-panel, token_prefix: A-}}
  - {name: b, modbus_tcp: {host: h}, unit: 2, address_base: 0, profile: {name: generic-alarm-panel, token_prefix: B-}}
";
    let d = load_str(Path::new("site.yaml"), text)
        .expect_err("ambiguous")
        .0;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].line, 3);
    assert!(
        d[0].message.contains("cannot be told apart"),
        "{}",
        d[0].message
    );
}

/// A scratch folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "railgate-mappings-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("profiles")).expect("temp dir");
        TempDir(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn site_profiles_are_found_next_to_the_file_and_win_over_builtins() {
    let dir = TempDir::new("local");
    dir.write(
        "profiles/door-module.yaml",
        "address_base: 1\ninputs:\n  - {token: Door, discrete_input: 1}\nrelays:\n  - {token: Lock, coil: 1, mode: monostable, delay: 3s}\ncommands:\n  - {command: 'Open|${prefix}Door', coil: 2, value: true}\n",
    );
    dir.write(
        "profiles/generic-io-16di-8do.yaml",
        "address_base: 0\ninputs:\n  - {token: Only, discrete_input: 0}\n",
    );
    let site = dir.write(
        "site.yaml",
        "controllers:
  - {name: d1, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: door-module, token_prefix: D1-}}
  - {name: d2, modbus_tcp: {host: h}, unit: 2, address_base: 0, profile: {name: door-module, token_prefix: D2-}}
  - {name: io, modbus_tcp: {host: h}, unit: 3, address_base: 0, profile: {name: generic-io-16di-8do}}
",
    );
    let plan = load_file(&site).unwrap_or_else(|d| panic!("{d}"));
    let tokens: Vec<&str> = plan.inputs.iter().map(|i| i.token.as_str()).collect();
    assert_eq!(tokens, ["D1-Door", "D2-Door", "Only"]);
    // The profile counts from 1: its discrete input 1 is wire address 0.
    assert_eq!(plan.inputs[0].point, id("d1/discrete_input/0"));
    assert_eq!(plan.relays[1].mode, RelayMode::Monostable);
    assert_eq!(plan.relays[1].delay, Duration::from_secs(3));
    assert_eq!(plan.commands[1].command, "Open|D2-Door");
    assert_eq!(plan.commands[1].value, WriteValue::Bool(true));
    // load_str with the same path finds them too.
    let text = std::fs::read_to_string(&site).expect("read");
    assert_eq!(load_str(&site, &text).expect("same"), plan);
}

#[test]
fn problems_inside_a_profile_are_reported_once_against_the_profile() {
    let dir = TempDir::new("broken");
    let profile = dir.write(
        "profiles/broken.yaml",
        "address_base: 0\ninputs:\n  - {token: A, discrete_input: 0, invrt: true}\n  - {token: B, controller: x, discrete_input: 1}\n  - {token: B, discrete_input: 2}\nrelays:\n  - {token: R, input_register: 3, bit: 0}\n",
    );
    let site = dir.write(
        "site.yaml",
        "controllers:
  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: broken, token_prefix: A-}}
  - {name: b, modbus_tcp: {host: h}, unit: 2, address_base: 0, profile: {name: broken, token_prefix: B-}}
",
    );
    let d = load_file(&site).expect_err("broken").0;
    let summary: Vec<(PathBuf, usize, String)> = d
        .iter()
        .map(|d| (d.file.clone(), d.line, d.path.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (profile.clone(), 3, "inputs[0].invrt".to_string()),
            (profile.clone(), 4, "inputs[1].controller".to_string()),
            (profile.clone(), 5, "inputs[2].token".to_string()),
            (profile.clone(), 7, "relays[0].input_register".to_string()),
        ],
        "{d:#?}"
    );
    assert!(d[1].message.contains("do not name a controller"));
    assert!(
        d[2].message.contains("already used (line 4)"),
        "{}",
        d[2].message
    );
    assert!(d[0].to_string().contains("broken.yaml:3:"), "{}", d[0]);
}

#[test]
fn a_profile_without_address_base_is_refused() {
    let dir = TempDir::new("nobase");
    let profile = dir.write(
        "profiles/nobase.yaml",
        "inputs:\n  - {token: A, discrete_input: 0}\n",
    );
    let site = dir.write(
        "site.yaml",
        "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: nobase}}\n",
    );
    let d = load_file(&site).expect_err("no base").0;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].file, profile);
    assert!(d[0].message.contains("missing `address_base`"));
}
