//! The `card_readers:` section: OSDP, serial Wiegand and GPIO Wiegand controllers compile to
//! `Link::Readers`, record points and LED relays; mistakes are reported at file:line:col.

use std::path::Path;

use railgate_mappings::load_str;
use railgate_mappings::plan::{Link, ReaderSecure, ReaderTransport};

const GOOD: &str = "\
card_readers:
  - name: door-bus
    osdp: {device: /dev/ttyUSB0, baud: 9600}
    readers:
      - token: Reader1
        address: 1
        format: h10301
        secure: install
        data: [format, facility_code, card_number, bits]
        led: {relay: Reader1-LED, color: green}
        tamper_input: Reader1-Tamper
        power_input: Reader1-Power
  - name: gate
    wiegand_serial: {device: /dev/ttyUSB1, encoding: hex, includes_parity: true, format: h10301}
    readers: [{token: Gate}]
  - name: side
    wiegand_gpio: {chip: /dev/gpiochip0, d0: 17, d1: 18, format: h10306, frame_gap: 30ms}
    readers: [{token: Side, topic: 'rg:Doors/SideCard'}]
";

fn errors(text: &str) -> String {
    match load_str(Path::new("site.yaml"), text) {
        Ok(_) => String::new(),
        Err(d) => d.to_string(),
    }
}

#[test]
fn osdp_serial_and_gpio_readers_compile() {
    let plan = load_str(Path::new("site.yaml"), GOOD).expect("compiles");
    assert_eq!(plan.controllers.len(), 3);
    let Link::Readers(bus) = &plan.controllers[0].link else {
        panic!("not a reader link")
    };
    assert!(matches!(
        bus.transport,
        ReaderTransport::Osdp { baud: 9600, .. }
    ));
    assert_eq!(bus.readers[0].address, 1);
    assert_eq!(bus.readers[0].secure, ReaderSecure::Install);
    let card = plan
        .records
        .iter()
        .find(|r| r.name == "Reader1")
        .expect("card record");
    assert_eq!(card.event.topic.path, "CardReader/CardRead");
    assert_eq!(card.event.topic.namespace, "urn:railgate:topics");
    assert_eq!(card.event.source[0].name, "Reader");
    assert_eq!(card.event.source[0].value, "Reader1");
    let names: Vec<&str> = card.event.data.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["Format", "FacilityCode", "CardNumber", "Bits", "BitCount"]
    );
    assert!(plan.records.iter().any(|r| r.name == "Reader1-Keypad"));
    let led = plan
        .relays
        .iter()
        .find(|r| r.token == "Reader1-LED")
        .expect("led relay");
    assert_eq!(led.controller, "door-bus");
    let side = plan
        .records
        .iter()
        .find(|r| r.name == "Side")
        .expect("side");
    assert_eq!(side.event.topic.path, "Doors/SideCard");
    assert!(matches!(
        plan.controllers[2].link,
        Link::Readers(ref l) if matches!(l.transport, ReaderTransport::WiegandGpio { d0: 17, d1: 18, .. })
    ));
}

#[test]
fn unknown_format_lists_the_known_ones() {
    let e = errors(
        "card_readers:\n  - name: b\n    osdp: {device: /dev/ttyUSB0}\n    readers:\n      - {token: R1, address: 1, format: h10399}\n",
    );
    assert!(e.contains("site.yaml:5:"), "{e}");
    assert!(
        e.contains("unknown Wiegand format `h10399`; known formats: h10301"),
        "{e}"
    );
}

#[test]
fn duplicate_and_out_of_range_addresses() {
    let e = errors(
        "card_readers:\n  - name: b\n    osdp: {device: /dev/ttyUSB0}\n    readers:\n      - {token: R1, address: 1}\n      - {token: R2, address: 1}\n      - {token: R3, address: 127}\n",
    );
    assert!(
        e.contains("site.yaml:6:30: error: OSDP address 1 is already used"),
        "{e}"
    );
    assert!(
        e.contains("site.yaml:7:30: error: OSDP address 127 is out of range"),
        "{e}"
    );
}

#[test]
fn bad_gpio_lines() {
    let e = errors(
        "card_readers:\n  - name: g\n    wiegand_gpio: {chip: /dev/gpiochip0, d0: 5000, d1: 5000, format: h10301}\n    readers: [{token: G}]\n",
    );
    assert!(
        e.contains("site.yaml:3:46: error: 5000 is not a GPIO line offset"),
        "{e}"
    );
    assert!(e.contains("D0 and D1 are both line 5000"), "{e}");
}

#[test]
fn osdp_only_keys_and_names_are_checked() {
    let e = errors(
        "controllers:\n  - name: p\n    modbus_tcp: {host: 127.0.0.1}\n    unit: 1\n    address_base: 0\ncard_readers:\n  - name: p\n    wiegand_serial: {device: /dev/ttyS0, format: h10301}\n    readers: [{token: S, address: 3}]\n",
    );
    assert!(e.contains("controller name `p` is already used"), "{e}");
    let e = errors(
        "card_readers:\n  - name: s\n    wiegand_serial: {device: /dev/ttyS0, format: h10301}\n    readers: [{token: S, address: 3}]\n",
    );
    assert!(e.contains("`address` is for OSDP readers only"), "{e}");
}
