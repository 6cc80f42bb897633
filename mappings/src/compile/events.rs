//! The event a value becomes: topic, fixed source and key items, the data item, and the
//! checks that keep every topic's description consistent and its events distinguishable.

use std::collections::HashMap;

use crate::model::{ItemSpec, ItemTypeSpec, Scalar, ValueSpec};
use crate::plan::{Decode, EventSpec, FixedItem, ItemType, TopicName, WireType};
use crate::suggest::hint;
use crate::topics;

use super::items::MAX_TOKEN;
use super::report::Here;
use super::values::raw_range;
use super::{Compiler, Scope, substitute};

/// The QName and plan type of an item type (`tt:ReferenceToken` is an xs:string in the plan).
pub(super) fn item_type(t: ItemTypeSpec) -> (&'static str, ItemType) {
    match t {
        ItemTypeSpec::Boolean => ("xs:boolean", ItemType::Boolean),
        ItemTypeSpec::Int => ("xs:int", ItemType::Int),
        ItemTypeSpec::Float => ("xs:float", ItemType::Float),
        ItemTypeSpec::Double => ("xs:double", ItemType::Double),
        ItemTypeSpec::String => ("xs:string", ItemType::String),
        ItemTypeSpec::ReferenceToken => ("tt:ReferenceToken", ItemType::String),
    }
}

fn item_type_of_qname(q: &str) -> Option<ItemTypeSpec> {
    Some(match q {
        "xs:boolean" => ItemTypeSpec::Boolean,
        "xs:int" => ItemTypeSpec::Int,
        "xs:float" => ItemTypeSpec::Float,
        "xs:double" => ItemTypeSpec::Double,
        "xs:string" => ItemTypeSpec::String,
        "tt:ReferenceToken" => ItemTypeSpec::ReferenceToken,
        _ => return None,
    })
}

/// Whether published values are whole numbers that fit xs:int.
fn fits_int(d: &Decode) -> bool {
    let Some((lo, hi)) = raw_range(d) else {
        return false;
    };
    if d.scale.fract() != 0.0 || d.offset.fract() != 0.0 {
        return false;
    }
    let a = lo as f64 * d.scale + d.offset;
    let b = hi as f64 * d.scale + d.offset;
    let range = f64::from(i32::MIN)..=f64::from(i32::MAX);
    range.contains(&a) && range.contains(&b)
}

/// The data item type a decoding publishes when the mapping does not say.
fn inferred_data_type(d: &Decode) -> ItemTypeSpec {
    if d.map.is_some() {
        ItemTypeSpec::String
    } else if d.wire == WireType::Bool {
        ItemTypeSpec::Boolean
    } else if fits_int(d) {
        ItemTypeSpec::Int
    } else if d.wire != WireType::F32 && d.scale.fract() == 0.0 && d.offset.fract() == 0.0 {
        ItemTypeSpec::Double
    } else {
        ItemTypeSpec::Float
    }
}

/// A number for messages: at most 3 decimals, no trailing zeros (`-434.465`, `100`).
fn num(x: f64) -> String {
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// `0 to 100%`, `at least -273.15`, `at most 5`.
fn range_text(min: f64, max: f64, unit: &str) -> String {
    match (min.is_finite(), max.is_finite()) {
        (true, true) => format!("{} to {}{unit}", num(min), num(max)),
        (true, false) => format!("at least {}{unit}", num(min)),
        (false, true) => format!("at most {}{unit}", num(max)),
        (false, false) => "any number".to_string(),
    }
}

/// Whether a decoding can be published as `t`.
fn compatible(d: &Decode, t: ItemTypeSpec) -> Result<(), String> {
    let (q, _) = item_type(t);
    match t {
        ItemTypeSpec::String => Ok(()),
        ItemTypeSpec::ReferenceToken => {
            Err("tt:ReferenceToken is a type for source and key items, not for the data item".into())
        }
        _ if d.map.is_some() => Err(format!(
            "a value with a `map` is published as its names (text), not as {q}: use xs:string"
        )),
        ItemTypeSpec::Boolean if d.wire == WireType::Bool => Ok(()),
        ItemTypeSpec::Boolean => Err(
            "xs:boolean carries true/false: read a single bit (a coil, a discrete input, or a register with `bit: N`)".into(),
        ),
        _ if d.wire == WireType::Bool => Err(format!(
            "a single bit is true/false: publish it as xs:boolean, not {q}"
        )),
        ItemTypeSpec::Int if fits_int(d) => Ok(()),
        ItemTypeSpec::Int => Err(
            "readings of this value can have fractions or exceed xs:int (32-bit): use xs:float or xs:double".into(),
        ),
        ItemTypeSpec::Float | ItemTypeSpec::Double => Ok(()),
    }
}

/// Renders a fixed item's value as its type's lexical form.
fn render_fixed(
    t: ItemTypeSpec,
    value: &Scalar,
    prefix: &str,
    controller: &str,
) -> Result<String, String> {
    let text = match value {
        Scalar::Text(s) => substitute(s, prefix, controller)?,
        other => other.to_string(),
    };
    let ok = match t {
        ItemTypeSpec::Boolean => matches!(text.as_str(), "true" | "false"),
        ItemTypeSpec::Int => text.parse::<i32>().is_ok(),
        ItemTypeSpec::Float | ItemTypeSpec::Double => text.parse::<f64>().is_ok_and(f64::is_finite),
        ItemTypeSpec::String => true,
        ItemTypeSpec::ReferenceToken => {
            !text.is_empty()
                && text.chars().count() <= MAX_TOKEN
                && !text.chars().any(char::is_control)
        }
    };
    if ok {
        Ok(text)
    } else {
        Err(format!("`{text}` is not a valid {}", item_type(t).0))
    }
}

fn inferred_item_type(v: &Scalar) -> ItemTypeSpec {
    match v {
        Scalar::Bool(_) => ItemTypeSpec::Boolean,
        Scalar::Int(_) => ItemTypeSpec::Int,
        Scalar::Float(_) => ItemTypeSpec::Float,
        Scalar::Text(_) => ItemTypeSpec::String,
    }
}

impl Compiler {
    /// The event a value becomes; None (reported) when the topic or items are wrong.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &mut self,
        scope: &Scope,
        namespaces: &HashMap<String, String>,
        here: &Here,
        spec: &ValueSpec,
        decode: Option<&Decode>,
        name: &str,
        controller: &str,
    ) -> Option<EventSpec> {
        let (prefix, path) = match topics::split(&spec.topic) {
            Ok(p) => p,
            Err(message) => {
                self.rep.value(&self.docs, here, "/topic", message);
                return None;
            }
        };
        let Some(namespace) = namespaces.get(prefix) else {
            let mut known: Vec<&str> = namespaces.keys().map(String::as_str).collect();
            known.sort_unstable();
            self.rep.value(
                &self.docs,
                here,
                "/topic",
                format!(
                    "unknown topic prefix `{prefix}`{}; declare it under `topic_namespaces:` (known here: {})",
                    hint(prefix, &known),
                    known.join(", ")
                ),
            );
            return None;
        };
        let topic = topics::name(namespace, path);
        if let Some(why) = topics::reserved_in(namespace, path) {
            self.rep.value(
                &self.docs,
                here,
                "/topic",
                format!("`{}` is reserved: {why}", spec.topic),
            );
            return None;
        }
        let event = if namespace == topics::ONVIF_TOPICS {
            let Some(standard) = topics::standard(path) else {
                let known: Vec<String> = topics::CATALOG
                    .iter()
                    .map(|t| format!("{}:{}", topics::ONVIF_PREFIX, t.path))
                    .collect();
                let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
                self.rep.value(
                    &self.docs,
                    here,
                    "/topic",
                    format!(
                        "`{}` is not a standard topic railgate can publish values on{}; standard ones: {}; for other topics use `rg:` or your own prefix",
                        spec.topic,
                        hint(&spec.topic, &candidates),
                        candidates.join(", ")
                    ),
                );
                return None;
            };
            self.standard_event(scope, here, spec, decode, topic, standard, name, controller)?
        } else {
            self.own_event(scope, here, spec, decode, topic, controller)?
        };
        self.same_shape(here, spec, &event, name);
        Some(event)
    }

    #[allow(clippy::too_many_arguments)]
    fn standard_event(
        &mut self,
        scope: &Scope,
        here: &Here,
        spec: &ValueSpec,
        decode: Option<&Decode>,
        topic: TopicName,
        standard: &topics::StandardTopic,
        name: &str,
        controller: &str,
    ) -> Option<EventSpec> {
        let mut ok = true;
        let t = &spec.topic;
        if let Some(p) = spec.property
            && p != standard.property
        {
            self.rep.value(
                &self.docs,
                here,
                "/property",
                format!(
                    "the standard defines `{t}` as {}a property event",
                    if standard.property { "" } else { "not " }
                ),
            );
            ok = false;
        }
        let mut source = Vec::new();
        match &spec.source {
            None => {
                for (item, qname) in standard.source {
                    let ty = item_type_of_qname(qname).map_or(ItemType::String, |t| item_type(t).1);
                    source.push(FixedItem {
                        name: (*item).to_string(),
                        ty,
                        value: name.to_string(),
                    });
                }
            }
            Some(items) => {
                let want: Vec<&str> = standard.source.iter().map(|(n, _)| *n).collect();
                let got: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
                if want != got {
                    self.rep.value(
                        &self.docs,
                        here,
                        "/source",
                        format!(
                            "the standard's `{t}` has source items [{}], not [{}]",
                            want.join(", "),
                            got.join(", ")
                        ),
                    );
                    ok = false;
                } else {
                    for (i, (item, (_, qname))) in items.iter().zip(standard.source).enumerate() {
                        let sub = format!("/source/{i}");
                        let std_type = item_type_of_qname(qname).unwrap_or(ItemTypeSpec::String);
                        if let Some(given) = item.item_type
                            && given != std_type
                        {
                            self.rep.value(
                                &self.docs,
                                here,
                                &format!("{sub}/type"),
                                format!("the standard declares `{}` as {qname}", item.name),
                            );
                            ok = false;
                        }
                        let value = item
                            .value
                            .clone()
                            .unwrap_or_else(|| Scalar::Text(name.to_string()));
                        match render_fixed(std_type, &value, &scope.prefix, controller) {
                            Ok(v) => source.push(FixedItem {
                                name: item.name.clone(),
                                ty: item_type(std_type).1,
                                value: v,
                            }),
                            Err(e) => {
                                self.rep.value(&self.docs, here, &format!("{sub}/value"), e);
                                ok = false;
                            }
                        }
                    }
                }
            }
        }
        if spec.key.as_ref().is_some_and(|k| !k.is_empty()) {
            self.rep.key(
                &self.docs,
                here,
                "/key",
                format!("the standard's `{t}` has no key items"),
            );
            ok = false;
        }
        let (std_name, std_qname) = standard.data;
        let std_type = item_type_of_qname(std_qname).unwrap_or(ItemTypeSpec::String);
        if let Some(data) = &spec.data {
            if let Some(n) = &data.name
                && n != std_name
            {
                self.rep.value(
                    &self.docs,
                    here,
                    "/data/name",
                    format!("the standard's `{t}` carries its value as `{std_name}`"),
                );
                ok = false;
            }
            if let Some(ty) = data.item_type
                && ty != std_type
            {
                self.rep.value(
                    &self.docs,
                    here,
                    "/data/type",
                    format!("the standard's `{t}` declares `{std_name}` as {std_qname}"),
                );
                ok = false;
            }
        }
        if let Some(d) = decode
            && let Err(e) = compatible(d, std_type)
        {
            self.rep.value(
                &self.docs,
                here,
                "/topic",
                format!(
                    "`{t}` carries `{std_name}` as {std_qname}, which this value cannot be: {e}"
                ),
            );
            ok = false;
        }
        if ok && let Some(q) = &standard.quantity {
            self.standard_quantity(here, spec, decode, q);
        }
        ok.then(|| EventSpec {
            topic,
            source,
            key: Vec::new(),
            data_name: std_name.to_string(),
            data_type: item_type(std_type).1,
            property: standard.property,
        })
    }

    /// Warns when a value's `unit:` or decoded range cannot be what standard topic `t`
    /// carries (e.g. volts, or a scale of 100, on a percentage).
    fn standard_quantity(
        &mut self,
        here: &Here,
        spec: &ValueSpec,
        decode: Option<&Decode>,
        q: &topics::Quantity,
    ) {
        let t = &spec.topic;
        let unit = q.unit.unwrap_or("");
        if let (Some(given), Some(std_unit)) = (&spec.unit, q.unit)
            && !q.accepts(given)
        {
            self.rep.warn(
                &self.docs,
                here,
                "/unit",
                format!("`{t}` carries {std_unit}, not {given}: a VMS reads this value as {std_unit}; publish it on a topic of your own (e.g. `rg:...`) or convert it with `scale`"),
            );
        }
        let Some(d) = decode.filter(|d| d.map.is_none()) else {
            return;
        };
        let Some((raw_lo, raw_hi)) = raw_range(d) else {
            return;
        };
        let ends = [
            raw_lo as f64 * d.scale + d.offset,
            raw_hi as f64 * d.scale + d.offset,
        ];
        let (lo, hi) = (ends[0].min(ends[1]), ends[0].max(ends[1]));
        let (min, max) = q.range;
        let sub = if spec.scale.is_some() {
            "/scale"
        } else if spec.offset.is_some() {
            "/offset"
        } else {
            "/topic"
        };
        if hi < min || lo > max {
            self.rep.warn(
                &self.docs,
                here,
                sub,
                format!("this value publishes {} to {}, never {} that `{t}` carries: check `scale` and `offset`", num(lo), num(hi), range_text(min, max, unit)),
            );
        } else if (max - min).is_finite() && d.scale.abs() * 10.0 > max - min {
            self.rep.warn(
                &self.docs,
                here,
                sub,
                format!("with `scale: {}` one raw step is more than a tenth of the {} that `{t}` carries: the register probably counts in finer units (e.g. `scale: 0.1`)", d.scale, range_text(min, max, unit)),
            );
        }
    }

    fn own_event(
        &mut self,
        scope: &Scope,
        here: &Here,
        spec: &ValueSpec,
        decode: Option<&Decode>,
        topic: TopicName,
        controller: &str,
    ) -> Option<EventSpec> {
        let mut ok = true;
        let mut names: HashMap<String, String> = HashMap::new();
        let mut fixed =
            |c: &mut Compiler, list: &Option<Vec<ItemSpec>>, what: &str| -> Vec<FixedItem> {
                let mut out = Vec::new();
                for (i, item) in list.iter().flatten().enumerate() {
                    let sub = format!("/{what}/{i}");
                    if !topics::is_ncname(&item.name) {
                        c.rep.value(
                            &c.docs,
                            here,
                            &format!("{sub}/name"),
                            format!(
                                "`{}` is not a valid item name (letters, digits, `_`, `-`, `.`)",
                                item.name
                            ),
                        );
                        ok = false;
                        continue;
                    }
                    if let Some(first) = names.insert(item.name.clone(), sub.clone()) {
                        c.rep.value(
                            &c.docs,
                            here,
                            &format!("{sub}/name"),
                            format!(
                                "item `{}` is already given (at {})",
                                item.name,
                                first.trim_start_matches('/')
                            ),
                        );
                        ok = false;
                    }
                    let Some(value) = &item.value else {
                        c.rep.key(
                            &c.docs,
                            here,
                            &sub,
                            format!(
                                "`{}` needs a `value`: every event of this value carries it",
                                item.name
                            ),
                        );
                        ok = false;
                        continue;
                    };
                    let ty = item.item_type.unwrap_or_else(|| inferred_item_type(value));
                    match render_fixed(ty, value, &scope.prefix, controller) {
                        Ok(v) => out.push(FixedItem {
                            name: item.name.clone(),
                            ty: item_type(ty).1,
                            value: v,
                        }),
                        Err(e) => {
                            c.rep.value(&c.docs, here, &format!("{sub}/value"), e);
                            ok = false;
                        }
                    }
                }
                out
            };
        let source = fixed(self, &spec.source, "source");
        let key = fixed(self, &spec.key, "key");
        let data_name = spec
            .data
            .as_ref()
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| "Value".to_string());
        if !topics::is_ncname(&data_name) {
            self.rep.value(
                &self.docs,
                here,
                "/data/name",
                format!("`{data_name}` is not a valid item name"),
            );
            ok = false;
        }
        if let Some(first) = names.get(&data_name) {
            self.rep.value(
                &self.docs,
                here,
                "/data",
                format!(
                    "the data item `{data_name}` has the name of an item at {}",
                    first.trim_start_matches('/')
                ),
            );
            ok = false;
        }
        let given = spec.data.as_ref().and_then(|d| d.item_type);
        let data_type = match (given, decode) {
            (Some(t), Some(d)) => {
                if let Err(e) = compatible(d, t) {
                    self.rep.value(&self.docs, here, "/data/type", e);
                    ok = false;
                }
                t
            }
            (Some(t), None) => t,
            (None, Some(d)) => inferred_data_type(d),
            (None, None) => ItemTypeSpec::String,
        };
        if given == Some(ItemTypeSpec::ReferenceToken) {
            ok = false;
        }
        ok.then(|| EventSpec {
            topic,
            source,
            key,
            data_name,
            data_type: item_type(data_type).1,
            property: spec.property.unwrap_or(true),
        })
    }

    /// Every value on one topic must describe it the same way (GetEventProperties lists one
    /// description per topic), and on own topics no two values may carry the same fixed items
    /// (subscribers could not tell them apart).
    fn same_shape(&mut self, here: &Here, spec: &ValueSpec, event: &EventSpec, name: &str) {
        let items = |list: &[FixedItem]| {
            list.iter()
                .map(|i| format!("{}:{}", i.name, i.ty.qname()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let shape = format!(
            "{} events with source [{}], key [{}], data {}:{}",
            if event.property { "property" } else { "plain" },
            items(&event.source),
            items(&event.key),
            event.data_name,
            event.data_type.qname()
        );
        match self.topic_shapes.get(&event.topic).cloned() {
            Some((first_shape, first_here, first_name)) if first_shape != shape => {
                let message = format!(
                    "topic `{}` is already published by value `{first_name}` ({}) as {first_shape}; every value on a topic must carry the same items (this one: {shape})",
                    spec.topic,
                    self.origin(&first_here)
                );
                self.rep.value(&self.docs, here, "/topic", message);
                return;
            }
            Some(_) => {}
            None => {
                self.topic_shapes
                    .insert(event.topic.clone(), (shape, here.clone(), name.to_string()));
            }
        }
        if event.topic.namespace == topics::ONVIF_TOPICS {
            // Standard topics without source items describe the device as a whole.
            return;
        }
        let identity = event
            .source
            .iter()
            .chain(&event.key)
            .map(|i| format!("{}={}", i.name, i.value))
            .collect::<Vec<_>>()
            .join(",");
        let slot = (event.topic.clone(), identity);
        if let Some((first, first_name)) = self.topic_instances.get(&slot).cloned() {
            match Self::blamed_instance(&first, here) {
                Some((inst, other)) => {
                    let head = format!(
                        "events of this instance cannot be told apart from those of {} (same topic, same source and key items); the profile needs a source item such as `{{name: Panel, value: \"${{controller}}\"}}`",
                        self.origin(other)
                    );
                    self.rep
                        .instance(&self.instances, inst, head, format!("`{name}`"));
                }
                _ => {
                    let message = format!(
                        "value `{first_name}` ({}) publishes `{}` with the same source and key items; subscribers could not tell the two apart: give them different source items",
                        self.origin(&first),
                        spec.topic
                    );
                    self.rep.value(&self.docs, here, "/topic", message);
                }
            }
        } else {
            self.topic_instances
                .insert(slot, (here.clone(), name.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ByteOrder;

    fn decode(wire: WireType) -> Decode {
        Decode::raw(wire, ByteOrder::Abcd)
    }

    #[test]
    fn data_types_follow_the_decoding() {
        assert_eq!(
            inferred_data_type(&decode(WireType::U16)),
            ItemTypeSpec::Int
        );
        assert_eq!(
            inferred_data_type(&decode(WireType::U32)),
            ItemTypeSpec::Double
        );
        assert_eq!(
            inferred_data_type(&decode(WireType::Bool)),
            ItemTypeSpec::Boolean
        );
        assert_eq!(
            inferred_data_type(&decode(WireType::F32)),
            ItemTypeSpec::Float
        );
        let mut scaled = decode(WireType::I16);
        scaled.scale = 0.1;
        assert_eq!(inferred_data_type(&scaled), ItemTypeSpec::Float);
        assert!(compatible(&scaled, ItemTypeSpec::Int).is_err());
        assert!(compatible(&scaled, ItemTypeSpec::Float).is_ok());
        assert!(compatible(&decode(WireType::U16), ItemTypeSpec::Boolean).is_err());
        assert!(compatible(&decode(WireType::U32), ItemTypeSpec::Int).is_err());
        assert!(compatible(&decode(WireType::Bool), ItemTypeSpec::ReferenceToken).is_err());
    }

    #[test]
    fn fixed_values_are_checked_against_their_type() {
        assert_eq!(
            render_fixed(ItemTypeSpec::Int, &Scalar::Int(2), "", "").as_deref(),
            Ok("2")
        );
        assert!(render_fixed(ItemTypeSpec::Int, &Scalar::Text("two".into()), "", "").is_err());
        assert!(render_fixed(ItemTypeSpec::Boolean, &Scalar::Int(1), "", "").is_err());
        assert_eq!(
            render_fixed(
                ItemTypeSpec::ReferenceToken,
                &Scalar::Text("${prefix}PSU".into()),
                "P_",
                ""
            )
            .as_deref(),
            Ok("P_PSU")
        );
    }
}
