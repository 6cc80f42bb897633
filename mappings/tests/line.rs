//! Line controllers in the mapping language: what compiles (the shipped example, with the
//! built-in `dsc-it100` profile) and what is refused, each finding at its file:line:col.

use std::path::Path;

use railgate_adapters::line::LineEndpoint;
use railgate_mappings::plan::{Link, RelayMode};
use railgate_mappings::{check_str, load_file};

fn errors(text: &str) -> Vec<(usize, usize, String)> {
    match check_str(Path::new("site.yaml"), text) {
        Ok(_) => Vec::new(),
        Err(d) => {
            d.0.iter()
                .filter(|d| !d.is_warning())
                .map(|d| (d.line, d.column, d.message.clone()))
                .collect()
        }
    }
}

const PROTOCOL: &str = r#"line_controllers:
  - name: panel
    serial: {device: /dev/ttyUSB0, baud: 9600}
    protocol:
      framing: {delimiter: "\r\n"}
      max_frame: 64
      checksum: {algorithm: sum8, encoding: hex}
      rules:
        - {name: zone_open, regex: '^609(?P<zone>\d{3})$', input: {point: "dsc/zone/{zone}", state: true}}
        - {name: ack, regex: '^500(?P<command>\d{3})$', ack: {key: command}}
      commands:
        - {name: arm, text: "030{partition:1}", ack: {key: "030"}}
    inputs:
      - {token: Zone1, point: dsc/zone/001}
    commands:
      - {command: "Arm|Partition1", send: arm, params: {partition: "1"}}
"#;

#[test]
fn the_base_compiles() {
    assert_eq!(errors(PROTOCOL), Vec::new());
}

fn one_error(text: &str, line: usize, column: usize, needle: &str) {
    let found = errors(text);
    assert!(
        found
            .iter()
            .any(|(l, c, m)| *l == line && *c == column && m.contains(needle)),
        "want {line}:{column} {needle:?}, got {found:#?}"
    );
}

#[test]
fn a_bad_regex_is_reported_at_the_regex() {
    let text = PROTOCOL.replace(r"'^609(?P<zone>\d{3})$'", r"'^609(?P<zone>\d{3}$'");
    one_error(&text, 9, 36, "bad regular expression");
}

#[test]
fn a_placeholder_naming_no_group_is_reported() {
    let text = PROTOCOL.replace(r#""dsc/zone/{zone}""#, r#""dsc/zone/{zn}""#);
    one_error(&text, 9, 75, "`{zn}` is no named group");
}

#[test]
fn an_unknown_template_parameter_is_reported_at_its_key() {
    let text = PROTOCOL.replace(
        r#"params: {partition: "1"}"#,
        r#"params: {partition: "1", code: "1"}"#,
    );
    one_error(&text, 16, 73, "has no parameter `code`");
}

#[test]
fn a_checksum_span_out_of_range_is_reported() {
    let text = PROTOCOL.replace("encoding: hex}", "encoding: hex, start: 63}");
    one_error(&text, 7, 57, "no frame of at most 64 bytes");
}

#[test]
fn an_input_no_rule_can_produce_is_reported() {
    let text = PROTOCOL.replace("point: dsc/zone/001", "point: dsc/zones/001");
    one_error(
        &text,
        14,
        31,
        "no rule of the protocol produces the input `dsc/zones/001`",
    );
}

#[test]
fn the_example_compiles_with_the_built_in_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plan = load_file(&root.join("deploy/examples/it100-panel/it100-panel.yaml"))
        .unwrap_or_else(|d| panic!("{d}"));
    let Link::Line(link) = &plan.controllers[0].link else {
        panic!("not a line link")
    };
    assert_eq!(link.protocol.name, "dsc-it100");
    assert!(
        matches!(&link.endpoint, LineEndpoint::Serial { device, line } if device == Path::new("/dev/ttyUSB0") && line.baud == 9600)
    );
    let tokens: Vec<&str> = plan.inputs.iter().map(|i| i.token.as_str()).collect();
    assert_eq!(
        tokens,
        [
            "Zone1", "Zone2", "Zone3", "Zone4", "Zone5", "Zone6", "Zone7", "Zone8"
        ]
    );
    assert_eq!(plan.inputs[0].point.0, "dsc/zone/001");
    assert_eq!(plan.relays[0].token, "PGM1");
    assert_eq!(plan.relays[0].mode, RelayMode::Monostable);
    let commands: Vec<&str> = plan.commands.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(commands, ["Arm|Partition1", "Disarm|Partition1"]);
    assert_eq!(plan.values[0].name, "Partition1State");
    let records: Vec<&str> = plan.records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(records, ["PanelTrouble", "ZoneAlarm"]);
}

#[test]
fn a_line_controllers_device_cannot_also_be_a_raw_serial_port() {
    let text = format!(
        "serial_ports:\n  - {{token: Port1, device: /dev/ttyUSB0, baud: 9600}}\n{PROTOCOL}"
    );
    one_error(&text, 5, 22, "is also the serial port `Port1`");
}
