//! `railgate check --explain`: the resolved table of a compiled mapping, one line per point:
//! controller, unit, table, wire address, the function codes that read and write it, wire
//! type, byte order, and what it feeds (an ONVIF input or relay token, a value's topic, an
//! auxiliary command). Addresses are wire addresses (0-based, as in the frame): the
//! mapping's `address_base` is applied, so a 0/1-based mistake shows as an address one off
//! from the vendor's register map.

use railgate_adapters::modbus::{ModbusConfig, ModbusPoint, Table};
use railgate_mappings::plan::{ByteOrder, Link, Plan, TopicName, WireType, WriteValue};
use railgate_mappings::topics::BUILTIN_PREFIXES;

use super::out;

/// The column titles.
const HEADER: [&str; 9] = [
    "CONTROLLER",
    "UNIT",
    "TABLE",
    "ADDRESS",
    "READ",
    "WRITE",
    "TYPE",
    "ORDER",
    "FEEDS",
];

/// The table's lines: a comment, the header, then every point of every controller in file
/// order.
pub(crate) fn table(plan: &Plan) -> Vec<String> {
    let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for controller in &plan.controllers {
        let Link::Modbus(config) = &controller.link else {
            continue;
        };
        for point in &config.points {
            rows.push(row(plan, config, point));
        }
    }
    let mut lines = vec![
        "# ADDRESS: the wire address (0-based, as sent in the frame; address_base applied); \
         register.bit for a register bit"
            .to_string(),
    ];
    lines.extend(out::table(&rows));
    lines
}

/// One point's line.
fn row(plan: &Plan, config: &ModbusConfig, point: &ModbusPoint) -> Vec<String> {
    let (wire, order) = wire_of(plan, config, point);
    vec![
        config.name.clone(),
        config.unit.to_string(),
        point.table.name().to_string(),
        address(point),
        if point.polled {
            format!("FC{:02}", point.table.read_function())
        } else {
            "-".into()
        },
        write_function(config, point).map_or("-".into(), |fc| format!("FC{fc:02}")),
        wire,
        order,
        feeds(plan, config, point),
    ]
}

/// `60`, `60-61` for two registers, `10.3` for bit 3 of register 10.
fn address(p: &ModbusPoint) -> String {
    match (p.bit, p.count) {
        (Some(bit), _) => format!("{}.{bit}", p.address),
        (None, 0 | 1) => p.address.to_string(),
        (None, n) => format!("{}-{}", p.address, u32::from(p.address) + u32::from(n) - 1),
    }
}

/// The function code a write of `p` uses, if it is written.
fn write_function(config: &ModbusConfig, p: &ModbusPoint) -> Option<u8> {
    if !p.writable {
        return None;
    }
    Some(match (p.table, p.bit, p.count) {
        (Table::Coil, _, _) => 5,
        (_, Some(_), _) if config.mask_write => 22,
        // Read-modify-write: FC03, then FC06.
        (_, Some(_), _) => 6,
        (_, None, 0 | 1) => 6,
        _ => 16,
    })
}

/// The wire type and byte order: a value's declared ones, else what the point's shape says.
fn wire_of(plan: &Plan, config: &ModbusConfig, p: &ModbusPoint) -> (String, String) {
    let value = plan
        .values
        .iter()
        .find(|v| v.controller == config.name && v.point == p.id);
    if let Some(v) = value {
        let d = &v.decode;
        let mut wire = wire_name(d.wire).to_string();
        if let Some(b) = d.bits {
            let last = u32::from(b.shift) + u32::from(b.width) - 1;
            wire = format!("{wire} bits {}-{last}", b.shift);
        }
        let order = if d.wire.registers() == 2 {
            order_name(d.order).to_string()
        } else {
            "-".into()
        };
        return (wire, order);
    }
    let wire = if p.table.is_bits() || p.bit.is_some() {
        "bool"
    } else if p.count <= 1 {
        "u16"
    } else {
        "registers"
    };
    (wire.into(), "-".into())
}

fn wire_name(w: WireType) -> &'static str {
    match w {
        WireType::Bool => "bool",
        WireType::U16 => "u16",
        WireType::I16 => "i16",
        WireType::U32 => "u32",
        WireType::I32 => "i32",
        WireType::F32 => "f32",
    }
}

fn order_name(o: ByteOrder) -> &'static str {
    match o {
        ByteOrder::Abcd => "ABCD",
        ByteOrder::Cdab => "CDAB",
        ByteOrder::Badc => "BADC",
        ByteOrder::Dcba => "DCBA",
    }
}

/// `tns1:Monitoring/BatteryCapacity`, or the URI in braces for an undeclared namespace.
pub(crate) fn topic(t: &TopicName) -> String {
    match BUILTIN_PREFIXES.iter().find(|(_, uri)| *uri == t.namespace) {
        Some((prefix, _)) => format!("{prefix}:{}", t.path),
        None => format!("{{{}}}{}", t.namespace, t.path),
    }
}

/// What the point feeds, `; `-separated when several things use it.
fn feeds(plan: &Plan, config: &ModbusConfig, p: &ModbusPoint) -> String {
    let mine = |controller: &str| controller == config.name;
    let mut uses = Vec::new();
    for i in plan
        .inputs
        .iter()
        .filter(|i| mine(&i.controller) && i.point == p.id)
    {
        let invert = if i.invert { ", inverted" } else { "" };
        uses.push(format!(
            "input {} (idle {}{invert})",
            i.token,
            i.idle_state.as_str()
        ));
    }
    for r in plan.relays.iter().filter(|r| mine(&r.controller)) {
        if r.write == p.id {
            let back = if r.read == r.write {
                String::new()
            } else {
                format!(", state read from {}", r.read)
            };
            uses.push(format!(
                "relay {} (idle {}{back})",
                r.token,
                r.idle_state.as_str()
            ));
        } else if r.read == p.id {
            uses.push(format!("relay {} (its state, read back)", r.token));
        }
    }
    for v in plan
        .values
        .iter()
        .filter(|v| mine(&v.controller) && v.point == p.id)
    {
        let d = &v.decode;
        let mut how = vec![v.event.data_type.qname().to_string()];
        if d.scale != 1.0 {
            how.push(format!("scale {}", d.scale));
        }
        if d.offset != 0.0 {
            how.push(format!("offset {}", d.offset));
        }
        if d.map.is_some() {
            how.push("map".into());
        }
        uses.push(format!(
            "value {} -> {} ({})",
            v.name,
            topic(&v.event.topic),
            how.join(", ")
        ));
    }
    for c in plan
        .commands
        .iter()
        .filter(|c| mine(&c.controller) && c.point == p.id)
    {
        let value = match c.value {
            WriteValue::Bool(b) => b.to_string(),
            WriteValue::U16(n) => n.to_string(),
        };
        let only = if p.polled { "" } else { ", written only" };
        uses.push(format!("command {:?} (writes {value}{only})", c.command));
    }
    if uses.is_empty() {
        "-".into()
    } else {
        uses.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const SITE: &str = r#"
controllers:
  - name: io
    modbus_tcp: {host: 127.0.0.1, port: 1502}
    unit: 1
    address_base: 1
inputs:
  - {token: Door1, controller: io, discrete_input: 1}
relays:
  - {token: Lock1, controller: io, coil: 1, mode: monostable, delay: 2s}
values:
  - {name: Battery, controller: io, holding_register: 61, type: u16, scale: 0.1, unit: V, topic: "rg:Panel/Battery"}
  - {name: Flow, controller: io, input_register: 11, type: f32, byte_order: CDAB, topic: "rg:Panel/Flow"}
commands:
  - {command: "Arm|P1", controller: io, holding_register: 65, value: 1}
"#;

    #[test]
    fn every_point_has_a_line_with_its_wire_address() {
        let plan = railgate_mappings::load_str(Path::new("site.yaml"), SITE)
            .unwrap_or_else(|d| panic!("{d}"));
        let lines = table(&plan);
        let find = |what: &str| {
            lines
                .iter()
                .find(|l| l.contains(what))
                .unwrap_or_else(|| panic!("no {what} in\n{}", lines.join("\n")))
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert!(lines[1].starts_with("CONTROLLER  UNIT  TABLE"), "{lines:?}");
        // address_base 1: the integrator's 1 is wire address 0.
        assert_eq!(
            find("input Door1")[..8],
            ["io", "1", "discrete_input", "0", "FC02", "-", "bool", "-"]
        );
        assert_eq!(
            find("relay Lock1")[..8],
            ["io", "1", "coil", "0", "FC01", "FC05", "bool", "-"]
        );
        assert_eq!(
            find("value Flow")[..8],
            ["io", "1", "input", "10-11", "FC04", "-", "f32", "CDAB"]
        );
        let battery = find("value Battery").join(" ");
        assert!(
            battery.contains(
                "holding 60 FC03 - u16 - value Battery -> rg:Panel/Battery (xs:float, scale 0.1)"
            ),
            "{battery}"
        );
        let command = find("command").join(" ");
        assert!(
            command.contains("holding 64 - FC06 u16 - command \"Arm|P1\" (writes 1, written only)"),
            "{command}"
        );
        assert_eq!(lines.len(), 2 + 5, "{}", lines.join("\n"));
    }
}
