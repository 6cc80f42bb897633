//! Values: how a raw reading is decoded (wire type, byte order, bit field, scale, map).
//! The event a value becomes is in `events`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::model::{ByteOrderSpec, ValueSpec, WireTypeSpec};
use crate::plan::{BitField, ByteOrder, Decode, ValuePoint, WireType};

use super::points::{BitRule, ClaimKind, Span};
use super::report::Here;
use super::{Compiler, Scope, ValueRef};

fn wire(t: WireTypeSpec) -> WireType {
    match t {
        WireTypeSpec::Bool => WireType::Bool,
        WireTypeSpec::U16 => WireType::U16,
        WireTypeSpec::I16 => WireType::I16,
        WireTypeSpec::U32 => WireType::U32,
        WireTypeSpec::I32 => WireType::I32,
        WireTypeSpec::F32 => WireType::F32,
    }
}

fn width(w: WireType) -> u8 {
    match w {
        WireType::Bool => 1,
        WireType::U16 | WireType::I16 => 16,
        WireType::U32 | WireType::I32 | WireType::F32 => 32,
    }
}

/// The raw integers a decoding can produce (before scale and offset); None for floats.
pub(super) fn raw_range(d: &Decode) -> Option<(i64, i64)> {
    if let Some(b) = d.bits {
        return Some((0, (1i64 << b.width.min(62)) - 1));
    }
    Some(match d.wire {
        WireType::Bool => (0, 1),
        WireType::U16 => (0, i64::from(u16::MAX)),
        WireType::I16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        WireType::U32 => (0, i64::from(u32::MAX)),
        WireType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        WireType::F32 => return None,
    })
}

impl Compiler {
    /// A value.
    pub(super) fn value(
        &mut self,
        scope: &Scope,
        namespaces: &HashMap<String, String>,
        pointer: &str,
        spec: &ValueSpec,
    ) {
        let here = Here {
            doc: scope.doc,
            pointer: pointer.to_string(),
            inst: scope.inst,
        };
        let name = self.scoped_name(scope, &here, "/name", &spec.name);
        let label = name.clone().unwrap_or_else(|| spec.name.clone());
        let ctrl = self.controller_for(scope, &here, spec.controller.as_deref());
        let ctrl_name = ctrl
            .and_then(|c| self.ctrls.get(c))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let decode = self.decode(&here, spec);
        let count = decode.as_ref().map_or(1, |d| d.wire.registers());
        let point = match ctrl {
            Some(ctrl) => {
                let fields = spec.point_fields();
                self.point(
                    scope,
                    &here,
                    ctrl,
                    &fields,
                    "",
                    count,
                    BitRule::Optional,
                    &label,
                )
            }
            None => None,
        };
        let event = self.event(
            scope,
            namespaces,
            &here,
            spec,
            decode.as_ref(),
            &label,
            &ctrl_name,
        );
        let deadband = spec.deadband;
        if let (Some(_), Some(d)) = (deadband, &decode)
            && (d.map.is_some() || d.wire == WireType::Bool)
        {
            self.rep.key(
                &self.docs,
                &here,
                "/deadband",
                "`deadband` applies to numbers; this value is published as true/false or a name",
            );
        }
        let heartbeat = spec.heartbeat.map(|h| h.0);
        if heartbeat.is_some_and(|h| h < Duration::from_secs(1)) {
            self.rep.value(
                &self.docs,
                &here,
                "/heartbeat",
                "a heartbeat under 1s would flood subscribers",
            );
        }
        if heartbeat.is_some() && event.as_ref().is_some_and(|e| e.property) {
            self.rep.key(
                &self.docs,
                &here,
                "/heartbeat",
                "`heartbeat` needs `property: false`: a property value is re-sent as Initialized whenever a client subscribes or synchronizes, and an unchanged value sent as Changed would look like a real change to a VMS",
            );
        }
        let Some(name) = name else {
            return;
        };
        if let Some(first) = self.value_names.get(&name).map(|v| v.here.clone()) {
            self.clash(&first, &here, "/name", "value name", &name, &spec.name);
            return;
        }
        let (Some(ctrl), Some(decode), Some((addr, sub)), Some(event)) =
            (ctrl, decode, point, event)
        else {
            return;
        };
        if addr.is_bit() && decode.wire != WireType::Bool {
            return;
        }
        let owner = self.owner();
        let order = match decode.order {
            ByteOrder::Abcd => (false, false),
            ByteOrder::Cdab => (true, false),
            ByteOrder::Badc => (false, true),
            ByteOrder::Dcba => (true, true),
        };
        let span = Span {
            count,
            field: decode.bits.map(|b| (b.shift, b.width)),
            order,
        };
        let Some((_, point)) = self.use_point(
            ctrl,
            addr,
            span,
            ClaimKind::Value,
            owner,
            &name,
            &here,
            &sub,
        ) else {
            return;
        };
        self.value_names.insert(
            name.clone(),
            ValueRef {
                ctrl,
                addr,
                count,
                decode: decode.clone(),
                here: here.clone(),
            },
        );
        self.plan.values.push(ValuePoint {
            name,
            controller: ctrl_name,
            point,
            decode,
            deadband,
            heartbeat,
            event,
        });
    }

    /// How a value's raw reading is decoded; None (reported) when the keys contradict.
    fn decode(&mut self, here: &Here, spec: &ValueSpec) -> Option<Decode> {
        let docs = &self.docs;
        let rep = &mut self.rep;
        let bitwise = spec.coil.is_some() || spec.discrete_input.is_some() || spec.bit.is_some();
        let any_register = spec.holding_register.is_some() || spec.input_register.is_some();
        let wire = match (bitwise, spec.wire_type) {
            (true, None | Some(WireTypeSpec::Bool)) => WireType::Bool,
            (true, Some(_)) => {
                rep.value(docs, here, "/type", "a single bit (a coil, a discrete input, or a register `bit`) is read as `bool`");
                return None;
            }
            (false, Some(WireTypeSpec::Bool)) => {
                rep.value(
                    docs,
                    here,
                    "/type",
                    "`bool` reads one bit of the register: add `bit: 0..15`",
                );
                return None;
            }
            (false, Some(t)) => wire(t),
            (false, None) => {
                if any_register {
                    rep.key(
                        docs,
                        here,
                        if spec.holding_register.is_some() { "/holding_register" } else { "/input_register" },
                        "say how to read the register: add `type:` (u16, i16, u32, i32, f32), or `bit: N` for one bit",
                    );
                }
                return None;
            }
        };
        let mut ok = true;
        let order = match (wire.registers(), spec.byte_order) {
            (2, None) => {
                rep.value(
                    docs,
                    here,
                    "/type",
                    "a 32-bit value needs `byte_order`: ABCD (big-endian, Modbus's own), CDAB (word swap), BADC (byte swap) or DCBA (little-endian); the wrong one gives garbage, so there is no default (the README shows how to tell)",
                );
                ok = false;
                ByteOrder::Abcd
            }
            (2, Some(o)) => match o {
                ByteOrderSpec::Abcd => ByteOrder::Abcd,
                ByteOrderSpec::Cdab => ByteOrder::Cdab,
                ByteOrderSpec::Badc => ByteOrder::Badc,
                ByteOrderSpec::Dcba => ByteOrder::Dcba,
            },
            (_, Some(_)) => {
                rep.key(
                    docs,
                    here,
                    "/byte_order",
                    "`byte_order` applies to 32-bit types (u32, i32, f32) only",
                );
                ok = false;
                ByteOrder::Abcd
            }
            (_, None) => ByteOrder::Abcd,
        };
        let bits = match &spec.bits {
            None => None,
            Some(b) => match wire {
                WireType::U16 | WireType::U32
                    if u16::from(b.shift) + u16::from(b.width) <= u16::from(width(wire)) =>
                {
                    Some(BitField {
                        shift: b.shift,
                        width: b.width,
                    })
                }
                WireType::U16 | WireType::U32 => {
                    rep.value(
                        docs,
                        here,
                        "/bits",
                        format!(
                            "bits {} to {} do not fit in a {}-bit value",
                            b.shift,
                            u16::from(b.shift) + u16::from(b.width) - 1,
                            width(wire)
                        ),
                    );
                    ok = false;
                    None
                }
                _ => {
                    rep.key(
                        docs,
                        here,
                        "/bits",
                        "bit fields are cut from unsigned integers: use `type: u16` or `u32`",
                    );
                    ok = false;
                    None
                }
            },
        };
        for (key, value) in [("/scale", spec.scale), ("/offset", spec.offset)] {
            if value.is_some() && wire == WireType::Bool {
                rep.key(
                    docs,
                    here,
                    key,
                    "a bit is true/false: `scale` and `offset` apply to numbers",
                );
                ok = false;
            } else if value.is_some() && spec.map.is_some() {
                rep.key(
                    docs,
                    here,
                    key,
                    "`scale`/`offset` and `map` exclude each other: a mapped value is published as a name",
                );
                ok = false;
            }
        }
        let scale = spec.scale.unwrap_or(1.0);
        if scale == 0.0 {
            rep.value(docs, here, "/scale", "a scale of 0 would publish 0 forever");
            ok = false;
        }
        let mut decode = Decode {
            wire,
            order,
            bits,
            scale,
            offset: spec.offset.unwrap_or(0.0),
            map: None,
        };
        if let Some(map) = &spec.map {
            match self.value_map(here, map, &decode) {
                Some(m) => decode.map = Some(m),
                None => ok = false,
            }
        }
        ok.then_some(decode)
    }

    /// Checks and converts a value map.
    fn value_map(
        &mut self,
        here: &Here,
        map: &BTreeMap<String, String>,
        decode: &Decode,
    ) -> Option<BTreeMap<i64, String>> {
        if decode.wire == WireType::F32 {
            self.rep.key(
                &self.docs,
                here,
                "/map",
                "a `map` needs an integer (or bool) type, not f32",
            );
            return None;
        }
        if map.is_empty() {
            self.rep.value(&self.docs, here, "/map", "the map is empty");
            return None;
        }
        let range = raw_range(decode);
        let mut out = BTreeMap::new();
        let mut by_name: HashMap<&str, i64> = HashMap::new();
        let mut ok = true;
        for (key, name) in map {
            let sub = format!("/map/{}", crate::yaml::escape(key));
            let Ok(raw) = key.trim().parse::<i64>() else {
                self.rep.key(
                    &self.docs,
                    here,
                    &sub,
                    format!("map keys are the raw whole numbers read, e.g. `0: disarmed`; `{key}` is not one"),
                );
                ok = false;
                continue;
            };
            if let Some((lo, hi)) = range
                && !(lo..=hi).contains(&raw)
            {
                self.rep.key(
                    &self.docs,
                    here,
                    &sub,
                    format!("{raw} can never be read: this value's raw readings are {lo} to {hi}"),
                );
                ok = false;
            }
            if name.trim().is_empty() {
                self.rep
                    .value(&self.docs, here, &sub, "a map name must not be empty");
                ok = false;
                continue;
            }
            if let Some(other) = by_name.insert(name.as_str(), raw) {
                self.rep.value(
                    &self.docs,
                    here,
                    &sub,
                    format!("`{name}` names both {other} and {raw}; names must be unique so commands can write them"),
                );
                ok = false;
            }
            out.insert(raw, name.clone());
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ranges_follow_type_and_bit_field() {
        let mut d = Decode::raw(WireType::I16, ByteOrder::Abcd);
        assert_eq!(raw_range(&d), Some((-32768, 32767)));
        d.wire = WireType::U32;
        d.bits = Some(BitField { shift: 4, width: 3 });
        assert_eq!(raw_range(&d), Some((0, 7)));
        d.bits = None;
        d.wire = WireType::F32;
        assert_eq!(raw_range(&d), None);
        assert_eq!(
            (
                width(WireType::Bool),
                width(WireType::U16),
                width(WireType::F32)
            ),
            (1, 16, 32)
        );
    }
}
