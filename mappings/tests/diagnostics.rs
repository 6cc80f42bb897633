//! Table-driven diagnostics: YAML in, the exact problems out (line, column, key path, message).
//!
//! Each case lists every diagnostic it expects, so a case also fails when a problem is
//! reported twice or a follow-on error appears. The column is given as a needle: the text the
//! caret must point at on that line.

use std::path::Path;

use railgate_adapters::modbus::Transport;
use railgate_mappings::plan::Link;
use railgate_mappings::{Diagnostic, check_str, load_str};

/// A valid controller; case texts are appended (their first line is line 6).
const BASE: &str = "controllers:
  - name: panel
    modbus_tcp: {host: 10.0.0.5}
    unit: 1
    address_base: 0
";

/// (line, needle at the column, key path, message substring)
type Expect = (usize, &'static str, &'static str, &'static str);

struct Case {
    name: &'static str,
    text: String,
    expect: Vec<Expect>,
}

fn site(name: &'static str, tail: &str, expect: &[Expect]) -> Case {
    Case {
        name,
        text: format!("{BASE}{tail}"),
        expect: expect.to_vec(),
    }
}

fn raw(name: &'static str, text: &str, expect: &[Expect]) -> Case {
    Case {
        name,
        text: text.to_string(),
        expect: expect.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        // ---- structure: unknown keys, types, enums, required keys
        site(
            "unknown key with a near miss",
            "inputs:\n  - {token: D1, discrete_input: 0, invrt: true}\n",
            &[(
                7,
                "invrt",
                "inputs[0].invrt",
                "unknown key `invrt`; did you mean `invert`?",
            )],
        ),
        site(
            "unknown section",
            "input:\n  - {token: D1, discrete_input: 0}\n",
            &[(6, "input", "input", "did you mean `inputs`?")],
        ),
        site(
            "synonym from another system",
            "values:\n  - {name: t, holding: 3, type: u16, topic: rg:T}\n",
            &[(
                7,
                "holding",
                "values[0].holding",
                "did you mean `holding_register`?",
            )],
        ),
        site(
            "`address` is explained",
            "inputs:\n  - {token: D1, address: 3}\n",
            &[(
                7,
                "address",
                "inputs[0].address",
                "name the table as the key",
            )],
        ),
        raw(
            "transport keys at the controller level",
            "controllers:\n  - name: a\n    host: 10.0.0.1\n    unit: 1\n    address_base: 0\n",
            &[(3, "host", "controllers[0].host", "go under `modbus_tcp:`")],
        ),
        site(
            "a number where text is expected",
            "inputs:\n  - token: 5\n    discrete_input: 0\n",
            &[(7, "5", "inputs[0].token", "put it in quotes")],
        ),
        site(
            "text where a number is expected",
            "inputs:\n  - {token: D1, discrete_input: many}\n",
            &[(
                7,
                "many",
                "inputs[0].discrete_input",
                "expected a whole number, found text",
            )],
        ),
        site(
            "bad enum value with suggestion",
            "inputs:\n  - {token: D1, discrete_input: 0, idle_state: opn}\n",
            &[(7, "opn", "inputs[0].idle_state", "did you mean `open`?")],
        ),
        site(
            "wire type synonym",
            "values:\n  - {name: t, input_register: 3, type: float32, byte_order: ABCD, topic: rg:T}\n",
            &[(7, "float32", "values[0].type", "did you mean `f32`?")],
        ),
        site(
            "byte order in lower case",
            "values:\n  - {name: t, input_register: 3, type: u32, byte_order: cdab, topic: rg:T}\n",
            &[(7, "cdab", "values[0].byte_order", "did you mean `CDAB`?")],
        ),
        raw(
            "address_base is required",
            "controllers:\n  - name: a\n    modbus_tcp: {host: h}\n    unit: 1\n",
            &[(2, "name", "controllers[0]", "missing `address_base`")],
        ),
        raw(
            "address_base is 0 or 1",
            "controllers:\n  - name: a\n    modbus_tcp: {host: h}\n    unit: 1\n    address_base: 2\n",
            &[(
                5,
                "2",
                "controllers[0].address_base",
                "expected one of `0`, `1`",
            )],
        ),
        site(
            "empty value",
            "inputs:\n  - token: D1\n    discrete_input:\n",
            &[(
                8,
                "discrete_input",
                "inputs[0].discrete_input",
                "has no value",
            )],
        ),
        site(
            "bit above 15",
            "inputs:\n  - {token: D1, input_register: 3, bit: 16}\n",
            &[(7, "16", "inputs[0].bit", "too large here: at most 15")],
        ),
        // ---- durations
        raw(
            "bare number as a duration",
            "controllers:\n  - name: a\n    modbus_tcp: {host: h}\n    unit: 1\n    address_base: 0\n    poll_interval: 100\n",
            &[(
                6,
                "100",
                "controllers[0].poll_interval",
                "durations need a unit",
            )],
        ),
        raw(
            "unknown duration unit",
            "controllers:\n  - name: a\n    modbus_tcp: {host: h}\n    unit: 1\n    address_base: 0\n    timeout: 5sec\n",
            &[(
                6,
                "5sec",
                "controllers[0].timeout",
                "unknown duration unit `sec`",
            )],
        ),
        raw(
            "backoff max below initial",
            "controllers:\n  - name: a\n    modbus_tcp: {host: h}\n    unit: 1\n    address_base: 0\n    backoff: {initial: 2s, max: 1s}\n",
            &[(
                6,
                "1s",
                "controllers[0].backoff.max",
                "shorter than initial",
            )],
        ),
        // ---- YAML itself
        raw(
            "duplicate keys, all of them",
            "controllers: []\ninputs: []\ncontrollers: []\nrelays: []\nrelays: []\n",
            &[
                (3, "controllers", "controllers", "given twice"),
                (5, "relays", "relays", "first on line 4"),
            ],
        ),
        raw(
            "syntax error",
            "controllers:\n  - name: [a\n",
            &[(0, "", "", "not valid YAML")],
        ),
        site(
            "YAML tags are refused",
            "inputs:\n  - {token: !weird D1, discrete_input: 0}\n",
            &[(7, "D1", "inputs[0].token", "YAML tags")],
        ),
        // ---- duplicates
        site(
            "duplicate input tokens",
            "inputs:\n  - {token: D1, discrete_input: 0}\n  - {token: D1, discrete_input: 1}\n",
            &[(
                8,
                "D1",
                "inputs[1].token",
                "input token `D1` is already used (line 7)",
            )],
        ),
        site(
            "duplicate relay tokens",
            "relays:\n  - {token: R1, coil: 0}\n  - {token: R1, coil: 1}\n",
            &[(
                8,
                "R1",
                "relays[1].token",
                "relay token `R1` is already used",
            )],
        ),
        site(
            "an input and a relay may share a token",
            "inputs:\n  - {token: X, discrete_input: 0}\nrelays:\n  - {token: X, coil: 0}\n",
            &[],
        ),
        site(
            "duplicate value names",
            "values:\n  - {name: v, input_register: 0, type: u16, topic: rg:A}\n  - {name: v, input_register: 1, type: u16, topic: rg:B}\n",
            &[(8, "v,", "values[1].name", "value name `v` is already used")],
        ),
        site(
            "duplicate command strings",
            "commands:\n  - {command: Arm, holding_register: 1, value: 1}\n  - {command: Arm, holding_register: 1, value: 2}\n",
            &[(
                8,
                "Arm",
                "commands[1].command",
                "command `Arm` is already used",
            )],
        ),
        raw(
            "duplicate controller names",
            "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0}\n  - {name: a, modbus_tcp: {host: h}, unit: 2, address_base: 0}\n",
            &[(
                3,
                "a,",
                "controllers[1].name",
                "controller name `a` is already used",
            )],
        ),
        // ---- tables and addresses
        site(
            "relay on a discrete input",
            "relays:\n  - {token: R1, discrete_input: 3}\n",
            &[(7, "discrete_input", "relays[0].discrete_input", "read-only")],
        ),
        site(
            "relay on an input register bit",
            "relays:\n  - {token: R1, input_register: 3, bit: 1}\n",
            &[(7, "input_register", "relays[0].input_register", "read-only")],
        ),
        site(
            "relay on a whole holding register",
            "relays:\n  - {token: R1, holding_register: 3}\n",
            &[(
                7,
                "3",
                "relays[0].holding_register",
                "say which one with `bit: 0..15`",
            )],
        ),
        site(
            "bit on a coil",
            "inputs:\n  - {token: D1, coil: 1, bit: 2}\n",
            &[(7, "2}", "inputs[0].bit", "a coil is already a single bit")],
        ),
        site(
            "no point at all",
            "inputs:\n  - {token: D1, invert: true}\n",
            &[(7, "{token", "inputs[0]", "no point given")],
        ),
        site(
            "two points",
            "inputs:\n  - {token: D1, coil: 1, discrete_input: 2}\n",
            &[(7, "2}", "inputs[0].discrete_input", "give only one point")],
        ),
        site(
            "address beyond 65535",
            "values:\n  - {name: v, input_register: 70000, type: u16, topic: rg:A}\n",
            &[(
                7,
                "70000",
                "values[0].input_register",
                "beyond the highest Modbus address",
            )],
        ),
        site(
            "a 32-bit value needs address+1",
            "values:\n  - {name: v, input_register: 65535, type: f32, byte_order: ABCD, topic: rg:A}\n",
            &[(
                7,
                "65535",
                "values[0].input_register",
                "needs addresses 65535 to 65536",
            )],
        ),
        raw(
            "address 0 with address_base 1",
            "controllers:\n  - {name: p, modbus_tcp: {host: h}, unit: 1, address_base: 1}\ninputs:\n  - {token: D1, discrete_input: 0}\n",
            &[(4, "0}", "inputs[0].discrete_input", "addresses start at 1")],
        ),
        raw(
            "address 65536 with address_base 1 is the last one",
            "controllers:\n  - {name: p, modbus_tcp: {host: h}, unit: 1, address_base: 1}\ninputs:\n  - {token: D1, discrete_input: 65536}\n",
            &[],
        ),
        // ---- overlaps
        site(
            "two relays on one coil",
            "relays:\n  - {token: R1, coil: 0}\n  - {token: R2, coil: 0}\n",
            &[(8, "0}", "relays[1].coil", "already written by relay `R1`")],
        ),
        site(
            "two inputs on one discrete input",
            "inputs:\n  - {token: D1, discrete_input: 4}\n  - {token: D2, discrete_input: 4}\n",
            &[(
                8,
                "4}",
                "inputs[1].discrete_input",
                "already read by input `D1`",
            )],
        ),
        site(
            "deliberate sharing is fine",
            "inputs:\n  - {token: D1, input_register: 5, bit: 0}\n  - {token: D2, input_register: 5, bit: 1}\nrelays:\n  - {token: R1, coil: 3, read_back: {coil: 3}}\n  - {token: P1, holding_register: 9, bit: 0}\n  - {token: P2, holding_register: 9, bit: 1}\nvalues:\n  - {name: z, input_register: 5, type: u16, topic: rg:Z}\n  - {name: b0, input_register: 5, bit: 0, topic: rg:B}\n",
            &[],
        ),
        site(
            "a command writing a relay's coil",
            "relays:\n  - {token: R1, coil: 2}\ncommands:\n  - {command: Blink, coil: 2, value: true}\n",
            &[(9, "2,", "commands[0].coil", "would both write this point")],
        ),
        site(
            "a value overlapping another value",
            "values:\n  - {name: a, holding_register: 10, type: u32, byte_order: ABCD, topic: rg:A}\n  - {name: b, holding_register: 11, type: u16, topic: rg:B}\n",
            &[(8, "11", "values[1].holding_register", "overlaps value `a`")],
        ),
        site(
            "bit fields of one register may be shared",
            "values:\n  - {name: lo, holding_register: 10, type: u16, bits: {shift: 0, width: 4}, topic: rg:A}\n  - {name: hi, holding_register: 10, type: u16, bits: {shift: 4, width: 4}, topic: rg:B}\n",
            &[],
        ),
        site(
            "an input reading a relay's coil",
            "relays:\n  - {token: R1, coil: 2}\ninputs:\n  - {token: D1, coil: 2}\n",
            &[(7, "2}", "relays[0].coil", "already read by input `D1`")],
        ),
        // ---- references
        site(
            "unknown controller",
            "inputs:\n  - {token: D1, controller: pannel, discrete_input: 0}\n",
            &[(
                7,
                "pannel",
                "inputs[0].controller",
                "unknown controller `pannel`; did you mean `panel`?",
            )],
        ),
        raw(
            "which controller?",
            "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0}\n  - {name: b, modbus_tcp: {host: h}, unit: 2, address_base: 0}\ninputs:\n  - {token: D1, discrete_input: 0}\n",
            &[(
                5,
                "{token",
                "inputs[0]",
                "say which with `controller:` (a, b)",
            )],
        ),
        raw(
            "items without controllers",
            "inputs:\n  - {token: D1, discrete_input: 0}\n",
            &[(2, "{token", "inputs[0]", "no controller to bind this to")],
        ),
        raw(
            "unknown profile",
            "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: generic-alarm-panl}}\n",
            &[(
                2,
                "generic-alarm-panl",
                "controllers[0].profile.name",
                "did you mean `generic-alarm-panel`?",
            )],
        ),
        raw(
            "profile names cannot be paths",
            "controllers:\n  - {name: a, modbus_tcp: {host: h}, unit: 1, address_base: 0, profile: {name: ../../etc/passwd}}\n",
            &[(
                2,
                "../",
                "controllers[0].profile.name",
                "is not a profile name",
            )],
        ),
        // ---- transports
        raw(
            "no transport",
            "controllers:\n  - {name: a, unit: 1, address_base: 0}\n",
            &[(2, "{name", "controllers[0]", "no transport")],
        ),
        raw(
            "two transports",
            "controllers:\n  - {name: a, modbus_tcp: {host: h}, modbus_rtu: {device: /dev/ttyS0, baud: 9600, parity: even}, unit: 1, address_base: 0}\n",
            &[(
                2,
                "modbus_rtu",
                "controllers[0].modbus_rtu",
                "give one transport",
            )],
        ),
        raw(
            "RTU unit 0 is broadcast",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyS0, baud: 9600, parity: evn}, unit: 0, address_base: 0}\n",
            &[(
                2,
                "evn",
                "controllers[0].modbus_rtu.parity",
                "did you mean `even`?",
            )],
        ),
        raw(
            "RTU settings are checked",
            "controllers:\n  - name: a\n    modbus_rtu: {device: /dev/ttyS0, baud: 9600, parity: even, data_bits: 6}\n    unit: 0\n    address_base: 0\n",
            &[
                (
                    3,
                    "6}",
                    "controllers[0].modbus_rtu.data_bits",
                    "data bits are 7 or 8",
                ),
                (4, "0", "controllers[0].unit", "RTU unit ids are 1 to 247"),
            ],
        ),
        // ---- relays
        site(
            "delay on a bistable relay",
            "relays:\n  - {token: R1, coil: 0, mode: bistable, delay: 2s}\n",
            &[(
                7,
                "delay",
                "relays[0].delay",
                "applies to `mode: monostable`",
            )],
        ),
        site(
            "monostable without delay",
            "relays:\n  - {token: R1, coil: 0, mode: monostable}\n",
            &[(7, "mode", "relays[0].mode", "add e.g. `delay: 2s`")],
        ),
        // ---- values
        site(
            "32-bit without byte order",
            "values:\n  - {name: e, holding_register: 30, type: u32, topic: rg:E}\n",
            &[(7, "u32", "values[0].type", "needs `byte_order`")],
        ),
        site(
            "byte order on a 16-bit type",
            "values:\n  - {name: e, holding_register: 30, type: i16, byte_order: ABCD, topic: rg:E}\n",
            &[(
                7,
                "byte_order",
                "values[0].byte_order",
                "32-bit types (u32, i32, f32) only",
            )],
        ),
        site(
            "whole register without a type",
            "values:\n  - {name: e, holding_register: 30, topic: rg:E}\n",
            &[(
                7,
                "holding_register",
                "values[0].holding_register",
                "add `type:`",
            )],
        ),
        site(
            "bool needs a bit",
            "values:\n  - {name: e, holding_register: 30, type: bool, topic: rg:E}\n",
            &[(7, "bool", "values[0].type", "add `bit: 0..15`")],
        ),
        site(
            "map on a float",
            "values:\n  - {name: e, holding_register: 30, type: f32, byte_order: ABCD, map: {0: off}, topic: rg:E}\n",
            &[(7, "map", "values[0].map", "not f32")],
        ),
        site(
            "map and scale",
            "values:\n  - {name: e, holding_register: 30, type: u16, scale: 2, map: {0: off}, topic: rg:E}\n",
            &[(7, "scale", "values[0].scale", "exclude each other")],
        ),
        site(
            "map keys outside the raw range",
            "values:\n  - {name: e, holding_register: 30, type: u16, bits: {shift: 0, width: 2}, map: {0: a, 4: b}, topic: rg:E}\n",
            &[(7, "4:", "values[0].map.4", "raw readings are 0 to 3")],
        ),
        site(
            "bit field wider than the type",
            "values:\n  - {name: e, holding_register: 30, type: u16, bits: {shift: 12, width: 8}, topic: rg:E}\n",
            &[(
                7,
                "{shift",
                "values[0].bits",
                "do not fit in a 16-bit value",
            )],
        ),
        site(
            "heartbeat on a property value",
            "values:\n  - {name: e, holding_register: 30, type: u16, topic: rg:E, heartbeat: 1m}\n",
            &[(
                7,
                "heartbeat",
                "values[0].heartbeat",
                "needs `property: false`",
            )],
        ),
        site(
            "deadband on a mapped value",
            "values:\n  - {name: e, holding_register: 30, type: u16, map: {0: a}, deadband: 1, topic: rg:E}\n",
            &[(7, "deadband", "values[0].deadband", "applies to numbers")],
        ),
        // ---- topics
        site(
            "topic without a prefix",
            "values:\n  - {name: e, holding_register: 30, type: u16, topic: Panel/State}\n",
            &[(7, "Panel/State", "values[0].topic", "no namespace prefix")],
        ),
        site(
            "unknown topic prefix",
            "values:\n  - {name: e, holding_register: 30, type: u16, topic: acme:Door}\n",
            &[(7, "acme:", "values[0].topic", "unknown topic prefix `acme`")],
        ),
        site(
            "own namespace",
            "topic_namespaces: {acme: 'http://acme.example/topics'}\nvalues:\n  - {name: e, holding_register: 30, type: u16, topic: acme:Door/State}\n",
            &[],
        ),
        site(
            "built-in prefixes cannot be redefined",
            "topic_namespaces: {rg: 'http://x.example/'}\n",
            &[(6, "rg:", "topic_namespaces.rg", "is built in")],
        ),
        site(
            "reserved topic",
            "values:\n  - {name: e, holding_register: 30, bit: 1, topic: 'tns1:Device/Trigger/DigitalInput'}\n",
            &[(7, "'tns1", "values[0].topic", "is reserved")],
        ),
        site(
            "reserved rg: topic",
            "values:\n  - {name: e, holding_register: 30, bit: 1, topic: 'rg:Device/Trigger/RelayFallBackDelayed'}\n",
            &[(
                7,
                "'rg:",
                "values[0].topic",
                "is reserved: the gateway reports a monostable relay's delayed fall-back on it",
            )],
        ),
        site(
            "reserved rg: link state topic",
            "values:\n  - {name: e, holding_register: 30, type: u16, topic: 'rg:Monitoring/FailingPoints'}\n",
            &[(
                7,
                "'rg:",
                "values[0].topic",
                "is reserved: the gateway reports each controller's failing points on it",
            )],
        ),
        site(
            "reserved rg: card reader topic",
            "values:\n  - {name: e, holding_register: 30, type: u16, topic: 'rg:CardReader/CardRead'}\n",
            &[(
                7,
                "'rg:",
                "values[0].topic",
                "is reserved: card readers (`card_readers`) publish their reads on it",
            )],
        ),
        site(
            "unknown standard topic",
            "values:\n  - {name: e, holding_register: 30, type: u16, topic: 'tns1:Monitoring/BatteryCapacty'}\n",
            &[(
                7,
                "'tns1",
                "values[0].topic",
                "did you mean `tns1:Monitoring/BatteryCapacity`?",
            )],
        ),
        site(
            "contradicting the standard's items",
            "values:\n  - {name: e, input_register: 20, type: u16, topic: 'tns1:Monitoring/BatteryCapacity', data: {name: Percent}}\n",
            &[(
                7,
                "Percent",
                "values[0].data.name",
                "carries its value as `PercentageRemainingCapacity`",
            )],
        ),
        site(
            "a standard boolean topic needs a bit",
            "values:\n  - {name: psu, input_register: 22, type: u16, topic: 'tns1:Device/HardwareFailure/PowerSupplyFailure'}\n",
            &[(7, "'tns1", "values[0].topic", "as xs:boolean")],
        ),
        site(
            "a wrong property flag on a standard topic",
            "values:\n  - {name: t, input_register: 21, type: i16, topic: 'tns1:Monitoring/EnvironmentalConditions/Temperature', property: false}\n",
            &[(7, "false", "values[0].property", "as a property event")],
        ),
        site(
            "values nobody could tell apart",
            "values:\n  - {name: a, input_register: 1, type: u16, topic: rg:Level}\n  - {name: b, input_register: 2, type: u16, topic: rg:Level}\n",
            &[(
                8,
                "rg:Level",
                "values[1].topic",
                "could not tell the two apart",
            )],
        ),
        site(
            "one topic, two shapes",
            "values:\n  - {name: a, input_register: 1, type: u16, topic: rg:Level, source: [{name: Tank, value: 1}]}\n  - {name: b, input_register: 2, type: f32, byte_order: ABCD, topic: rg:Level, source: [{name: Tank, value: 2}]}\n",
            &[(
                8,
                "rg:Level",
                "values[1].topic",
                "must carry the same items",
            )],
        ),
        site(
            "item value of the wrong type",
            "values:\n  - {name: a, input_register: 1, type: u16, topic: rg:Level, source: [{name: Tank, type: 'xs:int', value: one}]}\n",
            &[(7, "one", "values[0].source[0].value", "not a valid xs:int")],
        ),
        site(
            "declared data type against the decoding",
            "values:\n  - {name: a, input_register: 1, type: i16, scale: 0.1, topic: rg:Level, data: {type: 'xs:int'}}\n",
            &[(7, "'xs:int'", "values[0].data.type", "use xs:float")],
        ),
        // ---- commands
        site(
            "command value too large",
            "commands:\n  - {command: Arm, holding_register: 100, value: 70000}\n",
            &[(7, "70000", "commands[0].value", "does not fit a register")],
        ),
        site(
            "command on a coil needs true/false",
            "commands:\n  - {command: Siren, coil: 4, value: 1}\n",
            &[(7, "1}", "commands[0].value", "write `true` or `false`")],
        ),
        site(
            "command writing an input register",
            "commands:\n  - {command: X, input_register: 4, value: 1}\n",
            &[(
                7,
                "input_register",
                "commands[0].input_register",
                "read-only",
            )],
        ),
        site(
            "named write through a value",
            "values:\n  - {name: mode, holding_register: 40, type: u16, map: {0: disarmed, 1: armed}, topic: rg:Mode}\ncommands:\n  - {command: Arm, value_point: mode, value: armd}\n  - {command: Disarm, value_point: mode, value: disarmed}\n",
            &[(9, "armd", "commands[0].value", "did you mean `armed`?")],
        ),
        site(
            "named write through a read-only value",
            "values:\n  - {name: st, input_register: 40, type: u16, map: {0: off, 1: on}, topic: rg:St}\ncommands:\n  - {command: On, value_point: st, value: 'on'}\n",
            &[(9, "st,", "commands[0].value_point", "cannot be written")],
        ),
        // ---- warnings: the file works, but is probably not what was meant
        site(
            "a holding register in Modicon notation",
            "values:\n  - {name: b, holding_register: 40001, type: u16, topic: rg:B}\n",
            &[(
                7,
                "40001",
                "values[0].holding_register",
                "warning: 40001 looks like Modicon notation for holding register 1; write holding_register: 1 with address_base: 1 (as written, this is holding register wire address 40001)",
            )],
        ),
        site(
            "an input register in Modicon notation",
            "values:\n  - {name: t, input_register: 30010, type: i16, topic: rg:T}\n",
            &[(
                7,
                "30010",
                "values[0].input_register",
                "warning: 30010 looks like Modicon notation for input register 10; write input_register: 10",
            )],
        ),
        site(
            "Modicon notation naming another table",
            "inputs:\n  - {token: D1, holding_register: 30010, bit: 0}\n",
            &[(
                7,
                "30010",
                "inputs[0].holding_register",
                "warning: 30010 looks like Modicon notation for input register 10; write input_register: 10 with address_base: 1 (as written, this is holding register wire address 30010)",
            )],
        ),
        site(
            "a warning is reported beside an error",
            "inputs:\n  - {token: D1, discrete_input: 10001}\n  - {token: D1, discrete_input: 2}\n",
            &[
                (
                    7,
                    "10001",
                    "inputs[0].discrete_input",
                    "warning: 10001 looks like Modicon notation for discrete input 1",
                ),
                (
                    8,
                    "D1",
                    "inputs[1].token",
                    "error: input token `D1` is already used",
                ),
            ],
        ),
        site(
            "coils and plain addresses are never suspected",
            "relays:\n  - {token: R, coil: 40001}\nvalues:\n  - {name: a, holding_register: 9999, type: u16, topic: rg:A}\n  - {name: b, input_register: 50001, type: u16, topic: rg:B}\n  - {name: c, holding_register: 40000, type: u16, topic: rg:C}\n",
            &[],
        ),
        raw(
            "Modicon notation with address_base 1",
            "controllers:\n  - {name: p, modbus_tcp: {host: 10.0.0.5}, unit: 1, address_base: 1}\nvalues:\n  - {name: b, holding_register: 40001, type: u16, topic: rg:B}\n",
            &[(
                4,
                "40001",
                "values[0].holding_register",
                "warning: 40001 looks like Modicon notation for holding register 1; write holding_register: 1 with address_base: 1 (as written, this is holding register wire address 40000)",
            )],
        ),
        raw(
            "the port in host and in port",
            "controllers:\n  - {name: p, modbus_tcp: {host: \"127.0.0.1:15022\", port: 502}, unit: 1, address_base: 0}\n",
            &[(
                2,
                "\"127",
                "controllers[0].modbus_tcp.host",
                "the port is given twice (15022 in `host`, 502 in `port`): write `host: 127.0.0.1, port: 502`",
            )],
        ),
        raw(
            "not a port after the colon",
            "controllers:\n  - {name: p, modbus_tcp: {host: \"10.0.0.5:mb\"}, unit: 1, address_base: 0}\n",
            &[(
                2,
                "\"10",
                "controllers[0].modbus_tcp.host",
                "`mb` after `10.0.0.5:` is not a TCP port (1 to 65535)",
            )],
        ),
        site(
            "volts on a percentage topic",
            "values:\n  - {name: batt, input_register: 20, type: u16, scale: 0.01, unit: V, topic: tns1:Monitoring/BatteryCapacity}\n",
            &[(
                7,
                "V,",
                "values[0].unit",
                "warning: `tns1:Monitoring/BatteryCapacity` carries %, not V",
            )],
        ),
        site(
            "a coarse scale on a percentage topic",
            "values:\n  - {name: batt, input_register: 20, type: u16, scale: 20, topic: tns1:Monitoring/BatteryCapacity}\n",
            &[(
                7,
                "20, topic",
                "values[0].scale",
                "warning: with `scale: 20` one raw step is more than a tenth of the 0 to 100% that `tns1:Monitoring/BatteryCapacity` carries",
            )],
        ),
        site(
            "a range outside a percentage",
            "values:\n  - {name: batt, input_register: 20, type: u16, scale: 0.001, offset: -500, topic: tns1:Monitoring/BatteryCapacity}\n",
            &[(
                7,
                "0.001",
                "values[0].scale",
                "warning: this value publishes -500 to -434.465, never 0 to 100% that `tns1:Monitoring/BatteryCapacity` carries",
            )],
        ),
        site(
            "a temperature below absolute zero",
            "values:\n  - {name: t, input_register: 21, type: i16, offset: -1000, scale: 0.01, topic: tns1:Monitoring/EnvironmentalConditions/Temperature}\n",
            &[(
                7,
                "0.01",
                "values[0].scale",
                "warning: this value publishes -1327.68 to -672.33, never at least -273.15 that",
            )],
        ),
        site(
            "units and scales that fit their standard topics",
            "values:\n  - {name: batt, input_register: 20, type: u16, unit: '%', topic: tns1:Monitoring/BatteryCapacity}\n  - {name: rh, input_register: 21, type: u16, scale: 0.1, unit: '%RH', topic: tns1:Monitoring/EnvironmentalConditions/RelativeHumidity}\n  - {name: t, input_register: 22, type: i16, scale: 0.1, unit: °F, topic: tns1:Monitoring/EnvironmentalConditions/Temperature}\n  - {name: v, input_register: 23, type: u16, scale: 0.001, unit: V, topic: rg:Battery/Voltage}\n",
            &[],
        ),
        raw(
            "controllers sharing a serial line disagree",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\n  - {name: b, modbus_rtu: {device: /dev/ttyUSB0, baud: 19200, parity: none, stop_bits: 1}, unit: 6, address_base: 0}\n",
            &[
                (
                    3,
                    "19200",
                    "controllers[1].modbus_rtu.baud",
                    "controllers `a` (line 2) and `b` share /dev/ttyUSB0 but differ in baud: 9600 and 19200; every device on one serial line uses the same settings",
                ),
                (
                    3,
                    "none",
                    "controllers[1].modbus_rtu.parity",
                    "differ in parity: even and none",
                ),
            ],
        ),
        raw(
            "a setting left at its default still has to agree",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even, stop_bits: 2}, unit: 5, address_base: 0}\n  - {name: b, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 6, address_base: 0}\n",
            &[(
                3,
                "{device",
                "controllers[1].modbus_rtu.stop_bits",
                "differ in stop_bits: 2 and 1",
            )],
        ),
        raw(
            "two controllers poll one unit on one serial line",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\n  - {name: b, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even, data_bits: 8}, unit: 5, address_base: 0}\n  - {name: c, modbus_rtu: {device: /dev/ttyUSB1, baud: 9600, parity: even}, unit: 5, address_base: 0}\n",
            &[(
                3,
                "5,",
                "controllers[1].unit",
                "controllers `a` (line 2) and `b` both poll unit 5 on /dev/ttyUSB0: every device on one serial line needs its own unit id",
            )],
        ),
        raw(
            "several units on one serial line",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\n  - {name: b, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even, data_bits: 8, stop_bits: 1}, unit: 6, address_base: 0}\n",
            &[],
        ),
        raw(
            "serial ports: token clash, device listed twice, bad speed, no speed",
            "serial_ports:\n  - {token: P1, device: /dev/ttyS1, baud: 9600}\n  - {token: P1, device: /dev/ttyS2, baud: 9600}\n  - {token: P3, device: /dev/ttyS1, baud: 9600}\n  - {token: P4, device: /dev/ttyS4, baud: 12}\n  - {token: P5, device: /dev/ttyS5, data_bits: 9}\n",
            &[
                (
                    3,
                    "P1",
                    "serial_ports[1].token",
                    "serial port token `P1` is already used (line 2)",
                ),
                (
                    4,
                    "/dev/ttyS1",
                    "serial_ports[2].device",
                    "/dev/ttyS1 is already serial port `P1` (line 2): a device is listed once",
                ),
                (
                    5,
                    "12",
                    "serial_ports[3].baud",
                    "12 baud is not a serial speed",
                ),
                (6, "{token", "serial_ports[4]", "a serial port needs `baud`"),
                (6, "9}", "serial_ports[4].data_bits", "data bits are 5 to 8"),
            ],
        ),
        raw(
            "a Modbus controller's serial line is not open for raw commands",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\nserial_ports:\n  - {token: bus, device: /dev/ttyUSB0, baud: 9600}\n",
            &[(
                4,
                "/dev/ttyUSB0",
                "serial_ports[0].device",
                "/dev/ttyUSB0 is the serial line of Modbus controller `a` (line 2): raw commands would corrupt its frames; list it read-only with `expose: false`",
            )],
        ),
        raw(
            "a Modbus controller's serial line listed read-only takes its settings",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\nserial_ports:\n  - {token: bus, device: /dev/ttyUSB0, expose: false}\n  - {token: bus2, device: /dev/ttyUSB1, baud: 19200, type: rs485_half_duplex}\n",
            &[],
        ),
        raw(
            "a read-only listing disagreeing with its controller",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\nserial_ports:\n  - {token: bus, device: /dev/ttyUSB0, baud: 19200, expose: false}\n",
            &[(
                4,
                "19200",
                "serial_ports[0].baud",
                "/dev/ttyUSB0 is the serial line of Modbus controller `a`, whose baud differs",
            )],
        ),
        raw(
            "an unknown serial port type",
            "serial_ports:\n  - {token: p, device: /dev/ttyS1, baud: 9600, type: rs485}\n",
            &[(2, "rs485", "serial_ports[0].type", "")],
        ),
        raw(
            "a kernel RS-485 mode out of range, on a port of another type, or with its own duplex",
            "serial_ports:\n  - {token: a, device: /dev/ttyS1, baud: 9600, type: rs485_half_duplex, rs485: {delay_before_send: 250ms}}\n  - {token: b, device: /dev/ttyS2, baud: 9600, type: rs422_half_duplex, rs485: {}}\n  - {token: c, device: /dev/ttyS3, baud: 9600, type: rs485_full_duplex, rs485: {full_duplex: true}}\n  - {token: d, device: /dev/ttyS4, baud: 9600, type: rs232, rs485: {rts_on_send: low, delay_after_send: 2ms}}\n",
            &[
                (
                    2,
                    "250ms",
                    "serial_ports[0].rs485.delay_before_send",
                    "RS-485 delay_before_send is 250 ms; the kernel allows at most 100 ms",
                ),
                (
                    3,
                    "rs422_half_duplex",
                    "serial_ports[1].type",
                    "a port with a kernel `rs485` mode is `rs232`, `rs485_half_duplex` or `rs485_full_duplex`, not RS422HalfDuplex",
                ),
                (
                    4,
                    "full_duplex: true",
                    "serial_ports[2].rs485.full_duplex",
                    "on a serial port, `type` says whether the bus is half or full duplex",
                ),
            ],
        ),
        raw(
            "a kernel RS-485 mode on every kind of serial link",
            "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyS1, baud: 9600, parity: even, rs485: {delay_after_send: 1.5ms}}, unit: 5, address_base: 0}\n  - {name: b, modbus_rtu: {device: /dev/ttyS2, baud: 9600, parity: even, rs485: {rts_on_send: low, terminate_bus: true}}, unit: 5, address_base: 0}\n  - {name: c, modbus_rtu: {device: /dev/ttyS2, baud: 9600, parity: even}, unit: 6, address_base: 0}\nserial_ports:\n  - {token: bus, device: /dev/ttyS2, expose: false, rs485: {}}\n",
            &[
                (
                    2,
                    "1.5ms",
                    "controllers[0].modbus_rtu.rs485.delay_after_send",
                    "`1.5ms` is finer than a millisecond",
                ),
                (
                    4,
                    "{device",
                    "controllers[2].modbus_rtu.rs485",
                    "controllers `b` (line 3) and `c` share /dev/ttyS2 but differ in rs485: kernel RS-485 mode on (RTS low while sending, 0 ms before, 0 ms after, half duplex, bus terminated) and left as it is",
                ),
                (
                    6,
                    "rs485",
                    "serial_ports[0].rs485",
                    "a read-only port keeps its controllers' line: give `rs485` on their `modbus_rtu` instead",
                ),
            ],
        ),
        site(
            "named write through an unknown value",
            "commands:\n  - {command: On, value_point: nope, value: 'on'}\n",
            &[(7, "nope", "commands[0].value_point", "unknown value `nope`")],
        ),
    ]
}

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| {
            format!(
                "{d}\n    [line {} col {} path `{}`]",
                d.line, d.column, d.path
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_case_reports_exactly_its_problems() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 60, "{} cases", all.len());
    for case in &all {
        // Warnings count like errors here; an expected warning's message starts `warning: `.
        let diags = match check_str(Path::new("site.yaml"), &case.text) {
            Ok(checked) => checked.warnings.0,
            Err(d) => d.0,
        };
        let mut problems = Vec::new();
        if diags.len() != case.expect.len() {
            problems.push(format!(
                "expected {} diagnostics, got {}",
                case.expect.len(),
                diags.len()
            ));
        }
        for (line, needle, path, message) in &case.expect {
            let found = diags.iter().any(|d| {
                let column_ok = if *line == 0 {
                    true
                } else {
                    case.text
                        .lines()
                        .nth(line - 1)
                        .and_then(|l| l.find(needle))
                        .map(|byte| l_chars(&case.text, *line, byte) + 1)
                        == Some(d.column)
                };
                (*line == 0 || d.line == *line)
                    && column_ok
                    && d.path == *path
                    && format!("{}: {}", d.severity.as_str(), d.message).contains(message)
                    && d.file == Path::new("site.yaml")
            });
            if !found {
                problems.push(format!(
                    "missing: line {line} at `{needle}`, path `{path}`, message ~ {message:?}"
                ));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "== {}\n{}\n-- got:\n{}",
                case.name,
                problems.join("\n"),
                render(&diags)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Characters before byte `byte` of line `line` (columns count characters).
fn l_chars(text: &str, line: usize, byte: usize) -> usize {
    text.lines()
        .nth(line - 1)
        .map_or(0, |l| l[..byte].chars().count())
}

#[test]
fn one_file_with_many_different_problems_reports_all_of_them() {
    let text = "\
controllers:
  - name: panel
    modbus_tcp: {host: 10.0.0.5}
    unit: 1
    address_base: 1
    poll_interval: 100
inputs:
  - {token: Door1, discrete_input: 0}
  - {token: Door1, discrete_input: 2, idle_state: opn}
  - {token: Door3, discrete_input: 3, invrt: true}
relays:
  - {token: Lock1, discrete_input: 5}
values:
  - {name: energy, holding_register: 30, type: u32, topic: rg:Energy}
commands:
  - {command: Arm, controller: pannel, holding_register: 100, value: 1}
";
    let diags = load_str(Path::new("site.yaml"), text)
        .expect_err("invalid")
        .0;
    let expect = [
        (6, "durations need a unit"),
        (8, "addresses start at 1"),
        (9, "did you mean `open`?"),
        (10, "did you mean `invert`?"),
        (12, "read-only"),
        (14, "needs `byte_order`"),
        (16, "did you mean `panel`?"),
    ];
    for (line, message) in expect {
        assert!(
            diags
                .iter()
                .any(|d| d.line == line && d.message.contains(message)),
            "line {line}: {message}\n{}",
            render(&diags)
        );
    }
    // Diagnostics come sorted by position, each once.
    let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted);
    assert_eq!(diags.len(), expect.len(), "{}", render(&diags));
}

#[test]
fn an_empty_file_is_an_empty_mapping() {
    for text in [
        "",
        "\n",
        "# nothing yet\n",
        "---\n",
        "controllers:\ninputs:\n",
    ] {
        let plan =
            load_str(Path::new("site.yaml"), text).unwrap_or_else(|d| panic!("{text:?}: {d}"));
        assert!(
            plan.controllers.is_empty() && plan.inputs.is_empty(),
            "{text:?}"
        );
    }
}

#[test]
fn the_rendered_diagnostic_has_a_caret_under_the_problem() {
    let text = format!("{BASE}inputs:\n  - {{token: D1, discrete_input: 0, invrt: true}}\n");
    let d = load_str(Path::new("site.yaml"), &text).expect_err("invalid");
    assert_eq!(
        d.to_string(),
        "site.yaml:7:36: error: unknown key `invrt`; did you mean `invert`? (at `inputs[0].invrt`)\n \
         7 |   - {token: D1, discrete_input: 0, invrt: true}\n   \
         |                                    ^"
    );
}

#[test]
fn non_mapping_documents_are_refused_politely() {
    for text in ["- a\n- b\n", "just text\n", "42\n"] {
        let d = load_str(Path::new("site.yaml"), text).expect_err("invalid");
        assert!(
            d.0[0].message.contains("a mapping file is a YAML mapping"),
            "{text:?}: {d}"
        );
    }
}

#[test]
fn the_port_may_be_written_in_host() {
    for (host, want_host, want_port) in [
        ("\"127.0.0.1:15022\"", "127.0.0.1", 15022),
        ("\"[::1]:15023\"", "::1", 15023),
        ("\"::1\"", "::1", 502),
        ("plc.local", "plc.local", 502),
    ] {
        let text = format!(
            "controllers:\n  - {{name: p, modbus_tcp: {{host: {host}}}, unit: 1, address_base: 0}}\n"
        );
        let plan = load_str(Path::new("site.yaml"), &text).unwrap_or_else(|d| panic!("{d}"));
        let Link::Modbus(m) = &plan.controllers[0].link else {
            panic!("not a Modbus link")
        };
        assert_eq!(
            m.transport,
            Transport::Tcp {
                host: want_host.into(),
                port: want_port
            },
            "{host}"
        );
    }
}

#[test]
fn warnings_do_not_refuse_the_file() {
    let text = format!(
        "{BASE}values:\n  - {{name: b, holding_register: 40001, type: u16, topic: rg:B}}\n"
    );
    let checked = check_str(Path::new("site.yaml"), &text).expect("warnings only");
    assert_eq!(checked.warnings.0.len(), 1);
    assert!(checked.warnings.0[0].is_warning());
    assert_eq!(
        checked.warnings.to_string().lines().next(),
        Some(
            "site.yaml:7:33: warning: 40001 looks like Modicon notation for holding register 1; write holding_register: 1 with address_base: 1 (as written, this is holding register wire address 40001) (at `values[0].holding_register`)"
        )
    );
    // load_str gives the same plan and drops the warnings.
    assert_eq!(
        load_str(Path::new("site.yaml"), &text).expect("ok"),
        checked.plan
    );
}

#[test]
fn the_builtin_profiles_and_the_demo_have_no_warnings() {
    for (name, _) in railgate_mappings::builtin_profiles() {
        let text = format!(
            "controllers:\n  - name: c\n    modbus_tcp: {{host: 127.0.0.1}}\n    unit: 3\n    address_base: 0\n    profile: {{name: {name}}}\n"
        );
        let checked = check_str(Path::new("site.yaml"), &text).unwrap_or_else(|d| panic!("{d}"));
        assert!(
            checked.warnings.0.is_empty(),
            "{name}: {}",
            checked.warnings
        );
    }
    let demo = check_str(Path::new("demo.yaml"), railgate_mappings::DEMO_YAML).expect("demo");
    assert!(demo.warnings.0.is_empty(), "{}", demo.warnings);
}

#[test]
fn serial_ports_compile_with_their_defaults_and_owners() {
    use railgate_adapters::modbus::Parity;
    use railgate_mappings::plan::{SerialAccess, SerialKind};
    let text = "controllers:\n  - {name: a, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 5, address_base: 0}\n  - {name: b, modbus_rtu: {device: /dev/ttyUSB0, baud: 9600, parity: even}, unit: 6, address_base: 0}\nserial_ports:\n  - {token: bus, device: /dev/ttyUSB0, expose: false}\n  - {token: pass, device: /dev/ttyUSB1, baud: 19200, parity: odd, data_bits: 7, stop_bits: 2, type: rs485_full_duplex}\n  - {token: plain, device: /dev/ttyS0, baud: 115200}\n";
    let plan = load_str(Path::new("site.yaml"), text).expect("valid");
    let ports = &plan.serial_ports;
    assert_eq!(ports.len(), 3);
    assert_eq!(ports[0].token, "bus");
    assert_eq!(
        ports[0].access,
        SerialAccess::ReadOnly {
            controllers: vec!["a".into(), "b".into()]
        }
    );
    assert_eq!(
        (ports[0].line.baud, ports[0].line.parity),
        (9600, Parity::Even)
    );
    assert_eq!(ports[1].access, SerialAccess::Raw);
    assert_eq!(ports[1].kind, SerialKind::Rs485FullDuplex);
    assert_eq!(
        (
            ports[1].line.baud,
            ports[1].line.parity,
            ports[1].line.data_bits,
            ports[1].line.stop_bits
        ),
        (19_200, Parity::Odd, 7, 2)
    );
    assert_eq!(ports[2].kind, SerialKind::Rs232);
    assert_eq!(
        (
            ports[2].line.parity,
            ports[2].line.data_bits,
            ports[2].line.stop_bits
        ),
        (Parity::None, 8, 1)
    );
}
