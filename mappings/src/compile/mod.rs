//! Semantic validation and compilation: checked files in, a [`Plan`] (or every problem) out.
//!
//! Order of work: controllers (and the profiles they instantiate), then serial ports (which
//! may name a controller's device), then inputs, relays and
//! values of every profile instance and of the site, then commands (which may refer to
//! values), then the checks across items (overlapping points). Items are compiled even after
//! a problem was found elsewhere, so one run reports everything; the plan is returned only
//! when nothing was found.

mod commands;
mod controllers;
mod events;
mod items;
mod line;
mod points;
mod readers;
mod report;
mod serial;
mod values;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use railgate_adapters::modbus::ModbusConfig;

use crate::diag::{Diagnostic, Diagnostics};
use crate::doc::Doc;
use crate::model::{CommandSpec, ControllerSpec, InputSpec, RelaySpec, SerialPortSpec, ValueSpec};
use crate::parse::Parsed;
use crate::plan::{Controller, Decode, Link, Plan, TopicName};
use crate::suggest::hint;
use crate::topics;

use self::points::{Addr, Claim, PointTable};
use self::report::{Here, Instance, Reporter};

/// The typed items of one file.
#[derive(Debug, Default)]
struct Sections {
    inputs: Vec<(String, InputSpec)>,
    relays: Vec<(String, RelaySpec)>,
    values: Vec<(String, ValueSpec)>,
    commands: Vec<(String, CommandSpec)>,
    /// Namespace prefixes usable in this file (built-ins included).
    namespaces: HashMap<String, String>,
}

impl Sections {
    fn read(parsed: &mut Parsed) -> Sections {
        Sections {
            inputs: parsed.items("inputs"),
            relays: parsed.items("relays"),
            values: parsed.items("values"),
            commands: parsed.items("commands"),
            namespaces: HashMap::new(),
        }
    }
}

/// How the items of one file are read: which file, which instance, with which parameters.
#[derive(Debug)]
pub(crate) struct Scope {
    /// The document the items are written in.
    doc: usize,
    /// The profile instance, if any.
    inst: Option<usize>,
    /// The controller every item of a profile instance belongs to.
    fixed_ctrl: Option<usize>,
    /// The profile's address base (site items use their controller's).
    base: Option<u8>,
    /// Added to wire addresses.
    offset: i64,
    /// Put in front of tokens and names.
    prefix: String,
}

/// A controller that passed its checks.
#[derive(Debug)]
pub(crate) struct Ctrl {
    /// Where it is written in the site file.
    here: Here,
    name: String,
    base: u8,
    config: ModbusConfig,
}

/// A value, for commands that write through it.
#[derive(Debug, Clone)]
struct ValueRef {
    ctrl: usize,
    addr: Addr,
    count: u16,
    decode: Decode,
    here: Here,
}

/// The compiler's state.
pub(crate) struct Compiler {
    docs: Vec<Doc>,
    rep: Reporter,
    instances: Vec<Instance>,
    ctrls: Vec<Ctrl>,
    /// Names of controllers that were written but are broken (their items are not checked
    /// against them, to avoid follow-on noise).
    broken_ctrls: BTreeSet<String>,
    /// How many controllers the site file lists (valid or not).
    ctrl_count: usize,
    points: PointTable,
    claims: Vec<Claim>,
    next_owner: usize,
    plan: Plan,
    input_tokens: HashMap<String, Here>,
    relay_tokens: HashMap<String, Here>,
    value_names: HashMap<String, ValueRef>,
    command_names: HashMap<String, Here>,
    /// Each topic's message description (first value on it decides) and where it was given.
    topic_shapes: HashMap<TopicName, (String, Here, String)>,
    /// Own-namespace topics with their fixed items, to find values nobody could tell apart.
    topic_instances: HashMap<(TopicName, String), (Here, String)>,
    /// Where `profiles/` is looked up (line protocol profiles).
    profile_dir: Option<std::path::PathBuf>,
}

/// Compiles a parsed site file, looking profiles up in `profile_dir/profiles/` and built in.
/// Returns the plan with the warnings found, or every finding (errors and warnings) when
/// there is an error.
pub(crate) fn compile(
    mut site: Parsed,
    profile_dir: Option<&Path>,
) -> Result<(Plan, Diagnostics), Diagnostics> {
    let mut rep = Reporter::default();
    rep.diags.append(&mut site.diags);
    let controllers: Vec<(String, ControllerSpec, bool)> = site.salvaged_items("controllers");
    let ctrl_count = site
        .raw("/controllers")
        .and_then(|c| c.as_array())
        .map_or(0, Vec::len);
    let salvaged: BTreeSet<&str> = controllers.iter().map(|(p, _, _)| p.as_str()).collect();
    let broken_ctrls: BTreeSet<String> = (0..ctrl_count)
        .filter(|i| !salvaged.contains(format!("/controllers/{i}").as_str()))
        .filter_map(|i| {
            site.raw(&format!("/controllers/{i}/name"))
                .and_then(|n| n.as_str())
                .map(str::to_string)
        })
        .collect();
    let mut site_sections = Sections::read(&mut site);
    let serial_ports: Vec<(String, SerialPortSpec)> = site.items("serial_ports");
    let line_controllers: Vec<(String, crate::line_model::LineControllerSpec)> =
        site.items("line_controllers");
    let card_readers: Vec<(String, crate::model_readers::ReaderControllerSpec)> =
        site.items("card_readers");
    let site_namespaces = site.namespaces();
    rep.diags.append(&mut site.diags);

    let mut c = Compiler {
        docs: vec![site.doc],
        rep,
        instances: Vec::new(),
        ctrls: Vec::new(),
        broken_ctrls,
        ctrl_count,
        points: PointTable::default(),
        claims: Vec::new(),
        next_owner: 0,
        plan: Plan::default(),
        input_tokens: HashMap::new(),
        relay_tokens: HashMap::new(),
        value_names: HashMap::new(),
        command_names: HashMap::new(),
        topic_shapes: HashMap::new(),
        topic_instances: HashMap::new(),
        profile_dir: profile_dir.map(Path::to_path_buf),
    };
    site_sections.namespaces = c.namespaces(0, &site_namespaces);

    // Controllers and the profiles they instantiate, then the serial lines they share.
    let mut profiles: HashMap<String, Option<(usize, u8, Sections)>> = HashMap::new();
    let mut scopes: Vec<(Scope, String)> = Vec::new();
    for (pointer, spec, partial) in &controllers {
        let Some(ctrl) = c.controller(pointer, spec, *partial) else {
            continue;
        };
        let Some(use_) = &spec.profile else {
            continue;
        };
        let use_pointer = format!("{pointer}/profile");
        let name = use_.name.clone();
        if !profiles.contains_key(&name) {
            let loaded = c.load_profile(&use_pointer, &name, profile_dir);
            profiles.insert(name.clone(), loaded);
        }
        let Some(Some((doc, base, _))) = profiles.get(&name) else {
            continue;
        };
        let Some(prefix) = c.instance_prefix(&use_pointer, use_.token_prefix.as_deref()) else {
            continue;
        };
        let ctrl_name = c
            .ctrls
            .get(ctrl)
            .map(|k| k.name.clone())
            .unwrap_or_default();
        c.instances.push(Instance {
            site_pointer: use_pointer,
            controller: ctrl_name,
            profile: name.clone(),
        });
        scopes.push((
            Scope {
                doc: *doc,
                inst: Some(c.instances.len() - 1),
                fixed_ctrl: Some(ctrl),
                base: Some(*base),
                offset: use_.address_offset.unwrap_or(0),
                prefix,
            },
            name,
        ));
    }

    c.shared_lines();
    c.serial_ports(&serial_ports);

    let site_scope = Scope {
        doc: 0,
        inst: None,
        fixed_ctrl: None,
        base: None,
        offset: 0,
        prefix: String::new(),
    };
    let empty = Sections::default();
    let sections_of = |name: &str| -> &Sections {
        profiles
            .get(name)
            .and_then(Option::as_ref)
            .map_or(&empty, |(_, _, s)| s)
    };

    // Inputs, relays and values: each instance's, then the site's.
    let mut order: Vec<(&Scope, &Sections)> = scopes
        .iter()
        .map(|(scope, name)| (scope, sections_of(name)))
        .collect();
    order.push((&site_scope, &site_sections));
    for (scope, sections) in &order {
        for (pointer, spec) in &sections.inputs {
            c.input(scope, pointer, spec);
        }
        for (pointer, spec) in &sections.relays {
            c.relay(scope, pointer, spec);
        }
        for (pointer, spec) in &sections.values {
            c.value(scope, &sections.namespaces, pointer, spec);
        }
    }
    for (scope, sections) in &order {
        for (pointer, spec) in &sections.commands {
            c.command(scope, pointer, spec);
        }
    }
    c.overlaps();
    let namespaces = site_sections.namespaces.clone();
    let reader_controllers = c.card_readers(&card_readers, &namespaces);

    // The plan: each controller with every point its items use.
    let mut plan = std::mem::take(&mut c.plan);
    for (i, ctrl) in c.ctrls.iter_mut().enumerate() {
        let mut config = ctrl.config.clone();
        config.points = c.points.take(i);
        plan.controllers.push(Controller {
            name: ctrl.name.clone(),
            link: Link::Modbus(config),
        });
    }
    plan.controllers.extend(reader_controllers);
    c.plan = plan;
    c.line_controllers(&line_controllers, &site_sections.namespaces);
    let plan = std::mem::take(&mut c.plan);
    let diags = c.rep.finish(&c.docs);
    if diags.iter().all(Diagnostic::is_warning) {
        Ok((plan, Diagnostics(diags)))
    } else {
        Err(Diagnostics(diags))
    }
}

/// The token tables items claim their tokens in (GetDigitalInputs / GetRelayOutputs).
#[derive(Clone, Copy)]
enum TokenKind {
    Input,
    Relay,
}

impl Compiler {
    /// Checks `topic_namespaces` of document `doc` and returns the prefixes usable there.
    fn namespaces(
        &mut self,
        doc: usize,
        declared: &[(String, String, String)],
    ) -> HashMap<String, String> {
        let mut out: HashMap<String, String> = topics::BUILTIN_PREFIXES
            .iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect();
        for (prefix, uri, pointer) in declared {
            let here = Here {
                doc,
                pointer: pointer.clone(),
                inst: None,
            };
            if let Some((_, builtin)) = topics::BUILTIN_PREFIXES.iter().find(|(p, _)| p == prefix) {
                self.rep.key(
                    &self.docs,
                    &here,
                    "",
                    format!("`{prefix}` is built in (`{builtin}`) and cannot be redefined"),
                );
                continue;
            }
            if !topics::is_ncname(prefix) {
                self.rep.key(
                    &self.docs,
                    &here,
                    "",
                    format!("`{prefix}` is not a valid prefix: letters, digits, `_`, `-`, `.`, starting with a letter"),
                );
                continue;
            }
            let uri_ok = uri.contains(':')
                && !uri.starts_with(':')
                && !uri.chars().any(|c| c.is_whitespace() || c.is_control());
            if !uri_ok {
                self.rep.value(
                    &self.docs,
                    &here,
                    "",
                    format!("`{uri}` is not an absolute URI such as `http://example.com/topics` or `urn:example:topics`"),
                );
                continue;
            }
            if uri == topics::ONVIF_TOPICS {
                self.rep.value(
                    &self.docs,
                    &here,
                    "",
                    "this is the ONVIF topic namespace; write its topics as `tns1:...`",
                );
                continue;
            }
            out.insert(prefix.clone(), uri.clone());
        }
        out
    }

    /// Reads and checks profile `name`; returns its document index, address base and items.
    fn load_profile(
        &mut self,
        use_pointer: &str,
        name: &str,
        dir: Option<&Path>,
    ) -> Option<(usize, u8, Sections)> {
        let here = Here {
            doc: 0,
            pointer: use_pointer.to_string(),
            inst: None,
        };
        if !crate::profiles::valid_name(name) {
            self.rep.value(
                &self.docs,
                &here,
                "/name",
                format!("`{name}` is not a profile name: lowercase letters, digits, `-`, `_`, `.`"),
            );
            return None;
        }
        let (path, text): (std::path::PathBuf, String) = match crate::profiles::find(name, dir) {
            crate::profiles::Found::File(p, t) => (p, t),
            crate::profiles::Found::Builtin(p, t) => (p, t.to_string()),
            crate::profiles::Found::Unreadable(p, e) => {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/name",
                    format!("profile `{name}` cannot be read from {}: {e}", p.display()),
                );
                return None;
            }
            crate::profiles::Found::Missing => {
                let builtins = crate::profiles::builtin_names();
                let looked = dir
                    .map(|d| {
                        format!(
                            " or {}",
                            d.join("profiles").join(format!("{name}.yaml")).display()
                        )
                    })
                    .unwrap_or_default();
                self.rep.value(
                    &self.docs,
                    &here,
                    "/name",
                    format!(
                        "unknown profile `{name}`{}; built in: {}{looked}",
                        hint(name, &builtins),
                        builtins.join(", ")
                    ),
                );
                return None;
            }
        };
        let mut parsed = crate::parse::parse(crate::schema::FileKind::Profile, &path, &text);
        let base = parsed
            .raw("/address_base")
            .and_then(serde_json::Value::as_u64)
            .filter(|b| *b <= 1 && !parsed.is_bad("/address_base"))
            .and_then(|b| u8::try_from(b).ok());
        let mut sections = Sections::read(&mut parsed);
        let declared = parsed.namespaces();
        self.rep.diags.append(&mut parsed.diags);
        let doc = self.docs.len();
        self.docs.push(parsed.doc);
        sections.namespaces = self.namespaces(doc, &declared);
        Some((doc, base?, sections))
    }

    /// Checks an instance's token prefix.
    fn instance_prefix(&mut self, use_pointer: &str, prefix: Option<&str>) -> Option<String> {
        let prefix = prefix.unwrap_or("");
        let here = Here {
            doc: 0,
            pointer: use_pointer.to_string(),
            inst: None,
        };
        if prefix.chars().count() > 32
            || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.rep.value(
                &self.docs,
                &here,
                "/token_prefix",
                "a token prefix has at most 32 characters and no spaces",
            );
            return None;
        }
        Some(prefix.to_string())
    }

    /// The controller an item belongs to: its scope's, the one it names, or the only one.
    fn controller_for(&mut self, scope: &Scope, here: &Here, named: Option<&str>) -> Option<usize> {
        if let Some(fixed) = scope.fixed_ctrl {
            if named.is_some() {
                self.rep.key(
                    &self.docs,
                    here,
                    "/controller",
                    "a profile's items do not name a controller: the site instantiates the profile on one",
                );
            }
            return Some(fixed);
        }
        match named {
            Some(name) => {
                if let Some(i) = self.ctrls.iter().position(|k| k.name == name) {
                    return Some(i);
                }
                if !self.broken_ctrls.contains(name) {
                    let mut names: Vec<&str> = self.ctrls.iter().map(|k| k.name.as_str()).collect();
                    names.extend(self.broken_ctrls.iter().map(String::as_str));
                    let message = format!(
                        "unknown controller `{name}`{}{}",
                        hint(name, &names),
                        if names.is_empty() {
                            " (no controllers are defined)".to_string()
                        } else {
                            format!(" (controllers: {})", names.join(", "))
                        }
                    );
                    self.rep.value(&self.docs, here, "/controller", message);
                }
                None
            }
            None => match (self.ctrl_count, self.ctrls.len()) {
                (1, 1) => Some(0),
                (1, _) => None,
                (0, _) => {
                    self.rep.key(
                        &self.docs,
                        here,
                        "",
                        "no controller to bind this to: add one under `controllers:`",
                    );
                    None
                }
                _ => {
                    let names: Vec<&str> = self.ctrls.iter().map(|k| k.name.as_str()).collect();
                    self.rep.key(
                        &self.docs,
                        here,
                        "",
                        format!(
                            "this file has several controllers: say which with `controller:` ({})",
                            names.join(", ")
                        ),
                    );
                    None
                }
            },
        }
    }

    /// A fresh owner id for claims.
    fn owner(&mut self) -> usize {
        self.next_owner += 1;
        self.next_owner
    }

    /// Where an item comes from, for messages about another item.
    fn origin(&self, here: &Here) -> String {
        if let Some(i) = here.inst.and_then(|i| self.instances.get(i)) {
            return format!("profile `{}` on controller `{}`", i.profile, i.controller);
        }
        let line = self
            .docs
            .get(here.doc)
            .map_or(0, |d| d.line_of(&here.pointer));
        if line > 0 {
            format!("line {line}")
        } else {
            "elsewhere".to_string()
        }
    }

    /// When two items of different origins collide and one comes from a profile instance,
    /// the instance is to blame: returns it and the other item.
    fn blamed_instance<'h>(earlier: &'h Here, later: &'h Here) -> Option<(usize, &'h Here)> {
        if earlier.inst == later.inst {
            return None;
        }
        match (later.inst, earlier.inst) {
            (Some(inst), _) => Some((inst, earlier)),
            (None, Some(inst)) => Some((inst, later)),
            (None, None) => None,
        }
    }

    /// Reports that `what` at `later` clashes with the same at `earlier` (duplicate names).
    /// `label` is the final name, `written` the name as written in `later`'s file.
    /// Claims `token` in the input or relay table for the item at `here` (`sub`: the key
    /// naming it, `written`: the token as written): true if it was free; otherwise the clash
    /// with its first owner is reported and the table keeps that owner.
    fn claim_token(
        &mut self,
        kind: TokenKind,
        token: &str,
        here: &Here,
        sub: &str,
        written: &str,
    ) -> bool {
        let (table, what) = match kind {
            TokenKind::Input => (&mut self.input_tokens, "input token"),
            TokenKind::Relay => (&mut self.relay_tokens, "relay token"),
        };
        match table.get(token).cloned() {
            Some(first) => {
                self.clash(&first, here, sub, what, token, written);
                false
            }
            None => {
                table.insert(token.to_string(), here.clone());
                true
            }
        }
    }

    fn clash(
        &mut self,
        earlier: &Here,
        later: &Here,
        sub: &str,
        what: &str,
        label: &str,
        written: &str,
    ) {
        match Self::blamed_instance(earlier, later) {
            Some((inst, other)) => {
                let head = format!(
                    "this instance's {what}s clash with those of {}; give it another `token_prefix`",
                    self.origin(other)
                );
                self.rep
                    .instance(&self.instances, inst, head, format!("`{label}`"));
            }
            None => {
                // Both in the same file: the site, or one profile (then the same for every
                // instance, and said in the profile's own terms).
                let line = self
                    .docs
                    .get(earlier.doc)
                    .map_or(0, |d| d.line_of(&earlier.pointer));
                let message = format!("{what} `{written}` is already used (line {line})");
                self.rep.value(&self.docs, later, sub, message);
            }
        }
    }

    /// Checks every pair of claims on the same bits.
    fn overlaps(&mut self) {
        let mut by_register: HashMap<(usize, railgate_adapters::modbus::Table, u16), Vec<usize>> =
            HashMap::new();
        for (i, claim) in self.claims.iter().enumerate() {
            by_register
                .entry((claim.ctrl, claim.table, claim.address))
                .or_default()
                .push(i);
        }
        let mut groups: Vec<Vec<usize>> = by_register.into_values().collect();
        groups.sort();
        let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
        for group in groups {
            for (n, &j) in group.iter().enumerate() {
                for &i in &group[..n] {
                    let (earlier, later) = (&self.claims[i], &self.claims[j]);
                    if earlier.mask & later.mask == 0
                        || !reported.insert((earlier.owner, later.owner))
                    {
                        continue;
                    }
                    let Some(message) = points::conflict(earlier, later) else {
                        continue;
                    };
                    let (earlier, later) = (earlier.clone(), later.clone());
                    match Self::blamed_instance(&earlier.here, &later.here) {
                        Some((inst, other)) => {
                            let (mine, theirs) = if other == &earlier.here {
                                (&later, &earlier)
                            } else {
                                (&earlier, &later)
                            };
                            let head = format!(
                                "this instance's points (after its address_offset) collide with those of {}",
                                self.origin(other)
                            );
                            self.rep.instance(
                                &self.instances,
                                inst,
                                head,
                                format!(
                                    "`{}` with {} `{}`",
                                    mine.label,
                                    theirs.kind.noun(),
                                    theirs.label
                                ),
                            );
                        }
                        None => {
                            // Both in the same file (the site, or the same profile).
                            let line = self
                                .docs
                                .get(earlier.here.doc)
                                .map_or(0, |d| d.line_of(&earlier.here.pointer));
                            let message = format!("{message} (line {line})");
                            self.rep.value(&self.docs, &later.here, &later.sub, message);
                        }
                    }
                }
            }
        }
    }
}

/// Checks a token or name: non-empty, at most `max` characters, no spaces or control
/// characters. `prefix` is put in front; a result too long only because of it is the
/// instance's problem (`Err(true)`).
fn checked_name(raw: &str, prefix: &str, max: usize) -> Result<String, (bool, String)> {
    if raw.trim().is_empty() {
        return Err((false, "must not be empty".into()));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            false,
            format!("`{raw}` contains spaces or control characters"),
        ));
    }
    if raw.chars().count() > max {
        return Err((false, format!("`{raw}` is longer than {max} characters")));
    }
    let full = format!("{prefix}{raw}");
    if full.chars().count() > max {
        return Err((
            true,
            format!("with the token prefix, `{full}` is longer than {max} characters"),
        ));
    }
    Ok(full)
}

/// Replaces `${prefix}` and `${controller}` in a profile's text.
fn substitute(text: &str, prefix: &str, controller: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{text}` has an unclosed `${{`"));
        };
        match &after[..end] {
            "prefix" => out.push_str(prefix),
            "controller" => out.push_str(controller),
            other => {
                return Err(format!(
                    "unknown placeholder `${{{other}}}`: use `${{prefix}}` or `${{controller}}`"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            substitute("Arm|${prefix}P1", "X_", "c").as_deref(),
            Ok("Arm|X_P1")
        );
        assert_eq!(
            substitute("${controller}", "", "panel").as_deref(),
            Ok("panel")
        );
        assert!(substitute("${nope}", "", "").is_err());
        assert!(substitute("${prefix", "", "").is_err());
        assert_eq!(substitute("plain", "p", "c").as_deref(), Ok("plain"));
    }

    #[test]
    fn names_with_prefixes() {
        assert_eq!(checked_name("DI1", "io.", 64), Ok("io.DI1".into()));
        assert!(matches!(checked_name("a b", "", 64), Err((false, _))));
        assert!(matches!(
            checked_name(&"x".repeat(60), "prefix", 64),
            Err((true, _))
        ));
    }
}
