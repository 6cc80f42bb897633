//! `railgate probe [--controller NAME] FILE`: reads every polled point of each controller
//! once (`railgate_adapters::modbus::probe`) and prints, one line per point, the raw bits or
//! registers and what the mapping makes of them (the engine's own decoding), without
//! starting the ONVIF side. Write-only points (command registers) are listed, never read.
//!
//! Exit codes: 0 every point read, 65 some point refused by the device, 69 a controller
//! unreachable, 64 an unknown controller name, 78 the file does not check.

use std::path::Path;
use std::process::ExitCode;

use railgate_adapters::modbus::probe::{PointOutcome, RawData, probe};
use railgate_adapters::modbus::{ModbusConfig, ModbusPoint};
use railgate_adapters::{PointId, Value};
use railgate_mappings::diag::did_you_mean;
use railgate_mappings::engine::contact::{contact_closed, is_active};
use railgate_mappings::engine::decode_value;
use railgate_mappings::plan::{Link, Plan};
use tokio_util::sync::CancellationToken;

use super::out::{self, OutError};
use super::{EX_CONFIG, EX_DATAERR, EX_UNAVAILABLE, EX_USAGE, explain, files, runtime};

const HEADER: [&str; 7] = [
    "CONTROLLER",
    "TABLE",
    "ADDRESS",
    "READ",
    "RAW",
    "DECODED",
    "FEEDS",
];

/// Probes the controllers named in `only` (every one when empty) of the mapping of `path`.
pub(crate) fn run(path: &Path, only: &[String]) -> Result<ExitCode, OutError> {
    let checked = match files::mapping(path) {
        Ok(c) => c,
        Err(diagnostics) => {
            out::note(diagnostics);
            return Ok(ExitCode::from(EX_CONFIG));
        }
    };
    let plan = checked.plan;
    let names: Vec<&str> = plan.controllers.iter().map(|c| c.name.as_str()).collect();
    for name in only {
        if !names.contains(&name.as_str()) {
            let hint = match did_you_mean(name, &names) {
                Some(n) => format!("; did you mean `{n}`?"),
                None => format!(" (controllers: {})", names.join(", ")),
            };
            out::note(format_args!(
                "railgate probe: no controller `{name}` in the mapping{hint}"
            ));
            return Ok(ExitCode::from(EX_USAGE));
        }
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let stop = CancellationToken::new();
    let mut refused = false;
    let mut unreachable = false;
    let mut invalid = false;
    let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    let mut problems = Vec::new();
    for controller in &plan.controllers {
        if !only.is_empty() && !only.contains(&controller.name) {
            continue;
        }
        let Link::Modbus(config) = &controller.link else {
            continue;
        };
        let report = match runtime.block_on(probe(config, &stop)) {
            Ok(r) => r,
            Err(e) => {
                // The mapping compiler makes the same checks: not expected after a good check.
                problems.push(format!("railgate probe: {}: {e}", config.name));
                invalid = true;
                continue;
            }
        };
        for (point, outcome) in config.points.iter().zip(&report.points) {
            rows.push(row(&plan, config, point, outcome));
        }
        refused |= report.any_refused();
        if let Some(reason) = report.unreachable {
            unreachable = true;
            problems.push(format!(
                "railgate probe: {}: unreachable: {reason}",
                config.name
            ));
        }
    }
    for line in out::table(&rows) {
        out::line(line)?;
    }
    for p in &problems {
        out::note(p);
    }
    Ok(if invalid {
        ExitCode::from(EX_CONFIG)
    } else if unreachable {
        ExitCode::from(EX_UNAVAILABLE)
    } else if refused {
        ExitCode::from(EX_DATAERR)
    } else {
        ExitCode::SUCCESS
    })
}

fn row(
    plan: &Plan,
    config: &ModbusConfig,
    point: &ModbusPoint,
    outcome: &PointOutcome,
) -> Vec<String> {
    let (raw, decoded) = match outcome {
        PointOutcome::Read { raw, value } => {
            (show_raw(raw), decoded(plan, config, &point.id, value))
        }
        PointOutcome::Refused(e) => ("-".into(), format!("refused: {e}")),
        PointOutcome::WriteOnly => ("-".into(), "not read (written only)".into()),
        PointOutcome::NotReached => ("-".into(), "not read (link down)".into()),
    };
    let address = match point.bit {
        Some(bit) => format!("{}.{bit}", point.address),
        None => point.address.to_string(),
    };
    let read = if point.polled {
        format!("FC{:02}", point.table.read_function())
    } else {
        "-".into()
    };
    vec![
        config.name.clone(),
        point.table.name().to_string(),
        address,
        read,
        raw,
        decoded,
        uses(plan, config, &point.id),
    ]
}

/// `1` / `0` for bits, `0x0057` for registers, space-separated.
fn show_raw(raw: &RawData) -> String {
    let parts: Vec<String> = match raw {
        RawData::Bits(bits) => bits.iter().map(|b| u8::from(*b).to_string()).collect(),
        RawData::Registers(words) => words.iter().map(|w| format!("0x{w:04X}")).collect(),
    };
    parts.join(" ")
}

/// What the mapping makes of `value`: an input's or relay's contact state, a value's
/// published text; `; `-separated when several things read the point.
fn decoded(plan: &Plan, config: &ModbusConfig, id: &PointId, value: &Value) -> String {
    let mine = |c: &str| c == config.name;
    let mut out = Vec::new();
    let contact = |invert, idle| match value {
        Value::Bool(wire) => {
            let closed = contact_closed(*wire, invert);
            let active = is_active(closed, idle);
            format!(
                "{}, {}",
                if closed { "closed" } else { "open" },
                if active { "active" } else { "idle" }
            )
        }
        other => format!("{other:?} is not a bit"),
    };
    for i in plan
        .inputs
        .iter()
        .filter(|i| mine(&i.controller) && &i.point == id)
    {
        out.push(contact(i.invert, i.idle_state));
    }
    for r in plan
        .relays
        .iter()
        .filter(|r| mine(&r.controller) && &r.read == id)
    {
        out.push(contact(r.invert, r.idle_state));
    }
    for v in plan
        .values
        .iter()
        .filter(|v| mine(&v.controller) && &v.point == id)
    {
        out.push(match decode_value(value, &v.decode, v.event.data_type) {
            Ok(published) => published.text,
            Err(e) => format!("cannot decode: {e}"),
        });
    }
    if out.is_empty() {
        format!("{value:?}")
    } else {
        out.join("; ")
    }
}

/// The names of what reads or writes the point (the FEEDS column of `check --explain`,
/// short).
fn uses(plan: &Plan, config: &ModbusConfig, id: &PointId) -> String {
    let mine = |c: &str| c == config.name;
    let mut out = Vec::new();
    for i in plan
        .inputs
        .iter()
        .filter(|i| mine(&i.controller) && &i.point == id)
    {
        out.push(format!("input {}", i.token));
    }
    for r in plan
        .relays
        .iter()
        .filter(|r| mine(&r.controller) && (&r.read == id || &r.write == id))
    {
        out.push(format!("relay {}", r.token));
    }
    for v in plan
        .values
        .iter()
        .filter(|v| mine(&v.controller) && &v.point == id)
    {
        out.push(format!(
            "value {} -> {}",
            v.name,
            explain::topic(&v.event.topic)
        ));
    }
    for c in plan
        .commands
        .iter()
        .filter(|c| mine(&c.controller) && &c.point == id)
    {
        out.push(format!("command {:?}", c.command));
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join("; ")
    }
}
