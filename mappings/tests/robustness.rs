//! No input panics the loader: mutated versions of real files, and hostile YAML.

use std::path::Path;

use railgate_mappings::{DEMO_YAML, builtin_profiles, load_str};

/// A site that uses every feature, so mutations reach every check.
const RICH: &str = r#"
topic_namespaces: {acme: "http://acme.example/topics"}
controllers:
  - name: panel
    modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even, data_bits: 8, stop_bits: 1}
    unit: 3
    address_base: 1
    poll_interval: 250ms
    timeout: 1s
    retries: 3
    max_registers_per_request: 60
    max_bits_per_request: 800
    max_gap: 4
    inter_frame_delay: 5ms
    mask_write: false
    backoff: {initial: 1s, max: 1m}
  - name: io
    modbus_tcp: {host: 10.0.0.7, port: 502}
    unit: 1
    address_base: 0
    profile: {name: generic-io-16di-8do, token_prefix: IO-, address_offset: 100}
inputs:
  - {token: Door1, controller: panel, discrete_input: 1, debounce: 50ms, idle_state: closed, invert: true}
  - {token: Zone1, controller: panel, input_register: 5, bit: 0}
relays:
  - {token: Lock1, controller: panel, coil: 1, mode: monostable, delay: 3s, idle_state: closed, read_back: {discrete_input: 9}}
  - {token: PGM1, controller: panel, holding_register: 41, bit: 3}
values:
  - {name: energy, controller: panel, holding_register: 31, type: f32, byte_order: CDAB, scale: 0.5, offset: -1, deadband: 0.5, heartbeat: 5m, topic: "acme:Meter/Energy", source: [{name: Meter, type: "tt:ReferenceToken", value: "${controller}"}], key: [{name: Phase, value: 1}], data: {name: kWh, type: "xs:double"}, property: false}
  - {name: mode, controller: panel, holding_register: 40, type: u16, map: {0: disarmed, 1: armed}, topic: "rg:Panel/Mode"}
  - {name: flags, controller: panel, input_register: 5, type: u16, bits: {shift: 4, width: 4}, topic: "rg:Panel/Flags"}
  - {name: psu, controller: panel, input_register: 6, bit: 0, topic: "tns1:Device/HardwareFailure/PowerSupplyFailure", source: [{name: Token, value: Mains}]}
commands:
  - {command: "Arm|Area1", value_point: mode, value: armed}
  - {command: "Reset", controller: panel, holding_register: 50, value: 7}
  - {command: "Siren|On", controller: panel, coil: 2, value: true}
"#;

#[test]
fn the_rich_sample_is_valid() {
    let plan = load_str(Path::new("site.yaml"), RICH).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.values.len(), 4 + 2);
    assert_eq!(plan.inputs.len(), 2 + 16);
}

fn mutate(seed: &[u8], rounds: usize, mut state: u64) {
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let specials = b"{}[]:,-#&*!|>'\"%@`? \n\t0123456789.\xff\x00";
    for _ in 0..rounds {
        let mut input = seed.to_vec();
        for _ in 0..(next() % 4 + 1) {
            if input.is_empty() {
                break;
            }
            let at = (next() as usize) % input.len();
            match next() % 5 {
                0 => input[at] = specials[(next() as usize) % specials.len()],
                1 => {
                    input.remove(at);
                }
                2 => input.insert(at, specials[(next() as usize) % specials.len()]),
                3 => {
                    // Duplicate a slice (repeats keys and items).
                    let len = (next() as usize % 40).min(input.len() - at);
                    let slice: Vec<u8> = input[at..at + len].to_vec();
                    let to = (next() as usize) % input.len();
                    input.splice(to..to, slice);
                }
                _ => input.truncate(at),
            }
        }
        let text = String::from_utf8_lossy(&input);
        let result = load_str(Path::new("site.yaml"), &text);
        // Whatever happens, a failure carries at least one diagnostic that renders.
        if let Err(d) = result {
            assert!(!d.0.is_empty());
            let _ = d.to_string();
        }
    }
}

#[test]
fn mutations_never_panic() {
    // About 2500 loads: several seconds in a debug build.
    mutate(RICH.as_bytes(), 1200, 0x9e37_79b9_7f4a_7c15);
    mutate(DEMO_YAML.as_bytes(), 600, 0x2545_f491_4f6c_dd1d);
    for (i, (_, text)) in builtin_profiles().enumerate() {
        mutate(text.as_bytes(), 350, 0x1234_5678_9abc_def1 + i as u64);
    }
}

#[test]
fn hostile_documents_are_refused_without_panicking() {
    let deep_flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_block: String = (0..300).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let huge = "x".repeat(5 * 1024 * 1024);
    let big_numbers = "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 99999999999999999999999, address_base: 0}\ninputs:\n  - {token: t, discrete_input: 1e400}\n";
    let huge_addresses = "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0}\nvalues:\n  - {name: v, holding_register: 18446744073709551615, type: u32, byte_order: ABCD, topic: rg:X}\ninputs:\n  - {token: t, coil: 18446744073709551615}\ncommands:\n  - {command: c, holding_register: 1, value: -9223372036854775808}\n";
    let nan = "values:\n  - {name: v, input_register: 1, type: u16, scale: .nan, deadband: -.inf, topic: rg:X}\n";
    let weird_keys = "? [a, b]\n: 1\n? {c: d}\n: 2\n~: 3\n";
    let multi = "controllers: []\n---\ninputs: []\n";
    for text in [
        deep_flow.as_str(),
        deep_block.as_str(),
        laughs,
        huge.as_str(),
        big_numbers,
        huge_addresses,
        nan,
        weird_keys,
        multi,
        "\u{feff}controllers: []\n",
        "\t\tcontrollers: x\n",
    ] {
        match load_str(Path::new("site.yaml"), text) {
            Ok(plan) => assert!(plan.controllers.is_empty()),
            Err(d) => assert!(!d.0.is_empty()),
        }
    }
}
