//! Auxiliary commands: SendAuxiliaryCommand strings and the writes they cause.

use railgate_adapters::modbus::Table;

use crate::model::{CommandSpec, Scalar};
use crate::plan::{AuxCommand, WireType, WriteValue};
use crate::suggest::hint;

use super::points::{self, BitRule, ClaimKind, Span, table_words};
use super::report::Here;
use super::{Compiler, Scope, substitute};

/// Longest command string (tt:AuxiliaryData).
const MAX_COMMAND: usize = 128;

impl Compiler {
    /// An auxiliary command.
    pub(super) fn command(&mut self, scope: &Scope, pointer: &str, spec: &CommandSpec) {
        let here = Here {
            doc: scope.doc,
            pointer: pointer.to_string(),
            inst: scope.inst,
        };
        let controller_name = scope
            .fixed_ctrl
            .and_then(|c| self.ctrls.get(c))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let command = match substitute(&spec.command, &scope.prefix, &controller_name) {
            Ok(c) => self.command_string(&here, c),
            Err(e) => {
                self.rep.value(&self.docs, &here, "/command", e);
                None
            }
        };
        let label = command.clone().unwrap_or_else(|| spec.command.clone());
        let target = match &spec.value_point {
            Some(value_point) => self.through_value(scope, &here, spec, value_point),
            None => self.direct_write(scope, &here, spec, &label),
        };
        let Some(command) = command else {
            return;
        };
        if let Some(first) = self.command_names.get(&command).cloned() {
            self.clash(
                &first,
                &here,
                "/command",
                "command",
                &command,
                &spec.command,
            );
            return;
        }
        self.command_names.insert(command.clone(), here.clone());
        let Some((ctrl, addr, sub, value)) = target else {
            return;
        };
        let owner = self.owner();
        let Some((name, point)) = self.use_point(
            ctrl,
            addr,
            Span::SINGLE,
            ClaimKind::Command,
            owner,
            &command,
            &here,
            &sub,
        ) else {
            return;
        };
        if spec.read_back == Some(true) {
            self.points.poll(ctrl, &point);
        }
        self.plan.commands.push(AuxCommand {
            command,
            controller: name,
            point,
            value,
        });
    }

    fn command_string(&mut self, here: &Here, command: String) -> Option<String> {
        let problem = if command.trim().is_empty() {
            Some("a command must not be empty".to_string())
        } else if command.trim() != command {
            Some("a command must not start or end with spaces (clients send it exactly)".into())
        } else if command.chars().any(char::is_control) {
            Some("a command must not contain control characters".into())
        } else if command.chars().count() > MAX_COMMAND {
            Some(format!("a command has at most {MAX_COMMAND} characters"))
        } else {
            None
        };
        match problem {
            Some(p) => {
                self.rep.value(&self.docs, here, "/command", p);
                None
            }
            None => Some(command),
        }
    }

    /// A write to an address given in the command.
    fn direct_write(
        &mut self,
        scope: &Scope,
        here: &Here,
        spec: &CommandSpec,
        label: &str,
    ) -> Option<(usize, points::Addr, String, WriteValue)> {
        let ctrl = self.controller_for(scope, here, spec.controller.as_deref())?;
        for (key, given, words) in [
            ("discrete_input", spec.discrete_input, "discrete input"),
            ("input_register", spec.input_register, "input register"),
        ] {
            if given.is_some() {
                self.rep.key(
                    &self.docs,
                    here,
                    &format!("/{key}"),
                    format!("a command cannot write {}: that table is read-only (write a `coil` or a `holding_register`)", points::a(words)),
                );
                return None;
            }
        }
        let fields = spec.point_fields();
        let (addr, sub) =
            self.point(scope, here, ctrl, &fields, "", 1, BitRule::Optional, label)?;
        let value = if addr.is_bit() {
            match &spec.value {
                Scalar::Bool(b) => WriteValue::Bool(*b),
                other => {
                    self.rep.value(
                        &self.docs,
                        here,
                        "/value",
                        format!(
                            "a {} is a single bit: write `true` or `false`, not `{other}`",
                            if addr.table == Table::Coil {
                                "coil"
                            } else {
                                "register bit"
                            }
                        ),
                    );
                    return None;
                }
            }
        } else {
            match &spec.value {
                Scalar::Int(i) => match u16::try_from(*i) {
                    Ok(v) => WriteValue::U16(v),
                    Err(_) => {
                        self.rep.value(
                            &self.docs,
                            here,
                            "/value",
                            format!("{i} does not fit a register: write 0 to 65535"),
                        );
                        return None;
                    }
                },
                Scalar::Text(name) => {
                    self.rep.value(
                        &self.docs,
                        here,
                        "/value",
                        format!("`{name}` is a name: to write a value's name, give `value_point: <value>` instead of an address"),
                    );
                    return None;
                }
                other => {
                    self.rep.value(
                        &self.docs,
                        here,
                        "/value",
                        format!("a whole {} takes a number 0 to 65535, not `{other}` (for one bit add `bit: N`)", table_words(addr.table)),
                    );
                    return None;
                }
            }
        };
        Some((ctrl, addr, sub, value))
    }

    /// A write of a named value through a value's point and map.
    fn through_value(
        &mut self,
        scope: &Scope,
        here: &Here,
        spec: &CommandSpec,
        value_point: &str,
    ) -> Option<(usize, points::Addr, String, WriteValue)> {
        let given: Vec<&str> = [
            ("coil", spec.coil.is_some()),
            ("discrete_input", spec.discrete_input.is_some()),
            ("holding_register", spec.holding_register.is_some()),
            ("input_register", spec.input_register.is_some()),
            ("bit", spec.bit.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, g)| g.then_some(k))
        .collect();
        if let Some(key) = given.first() {
            self.rep.key(
                &self.docs,
                here,
                &format!("/{key}"),
                "give either an address or `value_point`, not both: the value's point is written",
            );
            return None;
        }
        let wanted = format!("{}{value_point}", scope.prefix);
        let Some(target) = self.value_names.get(&wanted).cloned() else {
            let names: Vec<&str> = self.value_names.keys().map(String::as_str).collect();
            self.rep.value(
                &self.docs,
                here,
                "/value_point",
                format!("unknown value `{wanted}`{}", hint(&wanted, &names)),
            );
            return None;
        };
        if let Some(named) = spec.controller.as_deref() {
            let actual = self
                .ctrls
                .get(target.ctrl)
                .map(|c| c.name.as_str())
                .unwrap_or("");
            if named != actual {
                self.rep.value(
                    &self.docs,
                    here,
                    "/controller",
                    format!("value `{wanted}` is on controller `{actual}`, not `{named}`"),
                );
                return None;
            }
        }
        let addr = target.addr;
        let origin = self.origin(&target.here);
        let refuse = |c: &mut Compiler, message: String| {
            c.rep.value(
                &c.docs,
                here,
                "/value_point",
                format!("{message} (value `{wanted}`, {origin})"),
            );
            None
        };
        if !addr.table.is_writable() {
            return refuse(
                self,
                format!("{} cannot be written", points::a(table_words(addr.table))),
            );
        }
        let d = &target.decode;
        if target.count != 1 || !matches!(d.wire, WireType::Bool | WireType::U16 | WireType::I16) {
            return refuse(
                self,
                "only single registers (u16, i16) and bits can be written by name".into(),
            );
        }
        if d.bits.is_some() {
            return refuse(
                self,
                "writing a bit field is not supported (it would change the other bits)".into(),
            );
        }
        let Some(map) = &d.map else {
            return refuse(self, "the value has no `map` to take names from".into());
        };
        let Scalar::Text(name) = &spec.value else {
            let names: Vec<&str> = map.values().map(String::as_str).collect();
            self.rep.value(
                &self.docs,
                here,
                "/value",
                format!(
                    "with `value_point`, `value` is one of the map's names: {}",
                    names.join(", ")
                ),
            );
            return None;
        };
        let Some(raw) = map.iter().find(|(_, n)| *n == name).map(|(r, _)| *r) else {
            let names: Vec<&str> = map.values().map(String::as_str).collect();
            self.rep.value(
                &self.docs,
                here,
                "/value",
                format!(
                    "`{name}` is not in value `{wanted}`'s map{}; its names: {}",
                    hint(name, &names),
                    names.join(", ")
                ),
            );
            return None;
        };
        let value = match d.wire {
            WireType::Bool => WriteValue::Bool(raw != 0),
            // The map's keys were checked against the wire type's range.
            WireType::I16 => WriteValue::U16(i16::try_from(raw).map_or(0, |v| v as u16)),
            _ => WriteValue::U16(u16::try_from(raw).unwrap_or(0)),
        };
        Some((target.ctrl, addr, "/value_point".to_string(), value))
    }
}
