//! Commands are written, never polled: a command's register is a point the adapter can write
//! but does not read, unless the mapping says `read_back: true`; and the planner's default
//! gap never makes a read span an address no item reads.

use std::path::Path;

use railgate_adapters::modbus::{ModbusConfig, ModbusPoint, Table, plan::plan_poll};
use railgate_mappings::load_str;
use railgate_mappings::plan::Link;

fn compile(tail: &str) -> ModbusConfig {
    let text = format!(
        "controllers:\n  - name: panel\n    modbus_tcp: {{host: 10.0.0.5}}\n    unit: 1\n    address_base: 0\n{tail}"
    );
    let plan = load_str(Path::new("site.yaml"), &text).unwrap_or_else(|d| panic!("{d}"));
    let Link::Modbus(m) = &plan.controllers[0].link else {
        panic!("not a Modbus controller")
    };
    m.clone()
}

fn point<'c>(config: &'c ModbusConfig, id: &str) -> &'c ModbusPoint {
    config
        .points
        .iter()
        .find(|p| p.id.0 == id)
        .unwrap_or_else(|| panic!("{id} in {:?}", config.points))
}

fn reads(config: &ModbusConfig) -> Vec<(Table, u16, u16)> {
    plan_poll(config)
        .expect("plan")
        .blocks
        .iter()
        .map(|b| (b.table, b.start, b.count))
        .collect()
}

#[test]
fn a_command_register_is_writable_but_not_polled() {
    let c = compile(
        "commands:\n  - {command: \"Arm|P1\", holding_register: 40, value: 1}\n  - {command: Siren, coil: 3, value: true}\n",
    );
    for id in ["panel/holding/40", "panel/coil/3"] {
        let p = point(&c, id);
        assert!(p.writable && !p.polled, "{p:?}");
    }
    assert_eq!(reads(&c), vec![]);
}

#[test]
fn a_value_next_to_a_command_is_read_alone() {
    let c = compile(
        "values:\n  - {name: battery, holding_register: 60, type: u16, topic: rg:Battery}\ncommands:\n  - {command: \"Arm|P1\", holding_register: 64, value: 1}\n",
    );
    assert_eq!(c.max_gap, 0, "the safe default");
    assert!(point(&c, "panel/holding/60").polled);
    assert!(!point(&c, "panel/holding/64").polled);
    assert_eq!(reads(&c), vec![(Table::Holding, 60, 1)]);
}

#[test]
fn read_back_true_polls_the_command_point() {
    let c = compile(
        "commands:\n  - {command: \"Arm|P1\", holding_register: 40, value: 1, read_back: true}\n  - {command: \"Disarm|P1\", holding_register: 40, value: 0}\n",
    );
    let p = point(&c, "panel/holding/40");
    assert!(p.writable && p.polled);
    assert_eq!(reads(&c), vec![(Table::Holding, 40, 1)]);
}

#[test]
fn relays_and_commands_through_a_value_are_still_read() {
    let c = compile(
        "relays:\n  - {token: Lock, coil: 0}\nvalues:\n  - {name: mode, holding_register: 5, type: u16, map: {0: off, 1: on}, topic: rg:Mode}\ncommands:\n  - {command: On, value_point: mode, value: on}\n",
    );
    let coil = point(&c, "panel/coil/0");
    assert!(coil.writable && coil.polled);
    let mode = point(&c, "panel/holding/5");
    assert!(mode.writable && mode.polled);
}

#[test]
fn max_gap_is_an_opt_in() {
    let c = compile(
        "    max_gap: 8\nvalues:\n  - {name: a, input_register: 0, type: u16, topic: rg:A}\n  - {name: b, input_register: 5, type: u16, topic: rg:B}\n",
    );
    assert_eq!(reads(&c), vec![(Table::Input, 0, 6)]);
    let c = compile(
        "values:\n  - {name: a, input_register: 0, type: u16, topic: rg:A}\n  - {name: b, input_register: 5, type: u16, topic: rg:B}\n",
    );
    assert_eq!(reads(&c), vec![(Table::Input, 0, 1), (Table::Input, 5, 1)]);
}
