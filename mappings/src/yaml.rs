//! Reading YAML: the value tree, and where every node of it was written.
//!
//! # Why two YAML parsers
//!
//! serde_norway (the maintained serde_yaml fork the workspace uses) turns text into values
//! but keeps no positions: once parsed, nothing says on which line `controllers[2].unit` was
//! written, and its own errors stop at the first problem. Diagnostics must point at the line
//! and column of *every* problem, including the ones only found after parsing (a duplicate
//! token, an overlapping address). So the same text is also read by yaml-rust2's event parser
//! ([`yaml_rust2::parser::Parser`] with a [`MarkedEventReceiver`]), which reports each node
//! with its position; [`PosIndex`] keeps, for each node's JSON-pointer path, where its key
//! and its value start. The values themselves still come from serde_norway (so the YAML
//! dialect, anchors and aliases are those of the serde layer), converted to `serde_json`
//! values for schema validation ([`to_json`]).
//!
//! Both parsers read the whole text; the position pass also reports duplicate keys, all of
//! them, with both places.

use std::collections::HashMap;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Pos {
    fn from_marker(m: Marker) -> Pos {
        Pos {
            line: m.line().max(1),
            column: m.col() + 1,
        }
    }
}

/// Where a node was written.
#[derive(Clone, Debug)]
pub(crate) struct NodePos {
    /// The key naming it in its parent mapping (None for sequence items and the root).
    pub key: Option<Pos>,
    /// The start of the value.
    pub value: Pos,
    /// The path as integrators read it: `controllers[0].unit`.
    pub display: String,
}

/// Positions of every node of a document, by JSON pointer (`/controllers/0/unit`).
#[derive(Clone, Debug, Default)]
pub(crate) struct PosIndex {
    nodes: HashMap<String, NodePos>,
}

/// A duplicate key found while indexing.
#[derive(Clone, Debug)]
pub(crate) struct DuplicateKey {
    /// Pointer of the second occurrence.
    pub pointer: String,
    /// The key.
    pub key: String,
    /// Where it was first written.
    pub first: Pos,
    /// Where it is written again.
    pub second: Pos,
}

impl PosIndex {
    /// Indexes `text`. Returns the index (possibly partial) and the duplicate keys; a syntax
    /// error stops indexing and is returned too (serde_norway's own error is preferred for the
    /// message, this one only when that parser accepted the text).
    pub(crate) fn build(text: &str) -> (PosIndex, Vec<DuplicateKey>, Option<(Pos, String)>) {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let error = parser.load(&mut builder, false).err().map(|e| {
            let m = e.marker();
            (Pos::from_marker(*m), e.info().to_string())
        });
        (
            PosIndex {
                nodes: builder.nodes,
            },
            builder.duplicates,
            error,
        )
    }

    /// The node at `pointer`, if it was indexed.
    #[cfg(test)]
    pub(crate) fn get(&self, pointer: &str) -> Option<&NodePos> {
        self.nodes.get(pointer)
    }

    /// Where to point for the value at `pointer`: the value itself, else the nearest indexed
    /// ancestor (values from defaults or expanded aliases have no position of their own).
    pub(crate) fn value_pos(&self, pointer: &str) -> Option<Pos> {
        self.nearest(pointer).map(|n| n.value)
    }

    /// Where to point for the key at `pointer` (the key if it has one, else the value).
    pub(crate) fn key_pos(&self, pointer: &str) -> Option<Pos> {
        self.nearest(pointer).map(|n| n.key.unwrap_or(n.value))
    }

    /// The readable path of `pointer` (`controllers[0].unit`), computed from the pointer when
    /// the node is not indexed.
    pub(crate) fn display(&self, pointer: &str) -> String {
        if let Some(n) = self.nodes.get(pointer) {
            return n.display.clone();
        }
        // Not indexed (e.g. a key that is missing): extend the nearest ancestor's display.
        let mut p = pointer;
        while let Some(cut) = p.rfind('/') {
            p = &p[..cut];
            if let Some(n) = self.nodes.get(p) {
                let mut out = n.display.clone();
                for seg in pointer[p.len()..].split('/').skip(1) {
                    push_display(&mut out, &unescape(seg), false);
                }
                return out;
            }
        }
        let mut out = String::new();
        for seg in pointer.split('/').skip(1) {
            push_display(
                &mut out,
                &unescape(seg),
                seg.bytes().all(|b| b.is_ascii_digit()),
            );
        }
        out
    }

    /// The pointer of the node whose key starts at `pos`, else of the deepest node whose
    /// value starts there.
    pub(crate) fn pointer_at(&self, pos: Pos) -> Option<String> {
        if let Some((p, _)) = self.nodes.iter().find(|(_, n)| n.key == Some(pos)) {
            return Some(p.clone());
        }
        self.nodes
            .iter()
            .filter(|(_, n)| n.value == pos)
            .max_by_key(|(p, _)| p.len())
            .map(|(p, _)| p.clone())
    }

    fn nearest(&self, pointer: &str) -> Option<&NodePos> {
        let mut p = pointer;
        loop {
            if let Some(n) = self.nodes.get(p) {
                return Some(n);
            }
            let cut = p.rfind('/')?;
            p = &p[..cut];
        }
    }
}

/// Escapes a key for a JSON pointer segment.
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Undoes [`escape`].
pub(crate) fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

fn push_display(out: &mut String, seg: &str, index: bool) {
    if index {
        out.push('[');
        out.push_str(seg);
        out.push(']');
    } else {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(seg);
    }
}

enum Frame {
    Map {
        pointer: String,
        display: String,
        /// The key just read, waiting for its value.
        pending: Option<(String, Pos)>,
        seen: HashMap<String, Pos>,
        first_key: bool,
    },
    Seq {
        pointer: String,
        display: String,
        next: usize,
    },
    /// Inside a complex (non-scalar) mapping key: nothing is indexed.
    Skip { depth: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    nodes: HashMap<String, NodePos>,
    duplicates: Vec<DuplicateKey>,
}

impl Builder {
    /// Places a new node (scalar or collection start) and returns its pointer and display,
    /// or None when the node is a mapping key (recorded as pending) or skipped.
    fn place(&mut self, pos: Pos, scalar_key: Option<&str>) -> Option<(String, String)> {
        match self.stack.last_mut() {
            None => {
                self.nodes.insert(
                    String::new(),
                    NodePos {
                        key: None,
                        value: pos,
                        display: String::new(),
                    },
                );
                Some((String::new(), String::new()))
            }
            Some(Frame::Skip { .. }) => None,
            Some(Frame::Seq {
                pointer,
                display,
                next,
            }) => {
                let p = format!("{pointer}/{next}");
                let mut d = display.clone();
                push_display(&mut d, &next.to_string(), true);
                *next += 1;
                self.nodes.insert(
                    p.clone(),
                    NodePos {
                        key: None,
                        value: pos,
                        display: d.clone(),
                    },
                );
                Some((p, d))
            }
            Some(Frame::Map {
                pointer,
                display,
                pending,
                seen,
                first_key,
            }) => match pending.take() {
                None => {
                    // This node is a key.
                    let key = scalar_key.unwrap_or("<complex key>").to_string();
                    if *first_key {
                        *first_key = false;
                        // Block mappings report their start one column late; the first key
                        // is where the mapping visibly starts.
                        if let Some(n) = self.nodes.get_mut(pointer.as_str())
                            && pos < n.value
                        {
                            n.value = pos;
                        }
                    }
                    if let Some(first) = seen.get(&key) {
                        self.duplicates.push(DuplicateKey {
                            pointer: format!("{pointer}/{}", escape(&key)),
                            key: key.clone(),
                            first: *first,
                            second: pos,
                        });
                    } else {
                        seen.insert(key.clone(), pos);
                    }
                    *pending = Some((key, pos));
                    None
                }
                Some((key, key_pos)) => {
                    let p = format!("{pointer}/{}", escape(&key));
                    let mut d = display.clone();
                    push_display(&mut d, &key, false);
                    // A duplicate key keeps the first occurrence's position.
                    self.nodes.entry(p.clone()).or_insert(NodePos {
                        key: Some(key_pos),
                        value: pos,
                        display: d.clone(),
                    });
                    Some((p, d))
                }
            },
        }
    }

    fn is_key_position(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match ev {
            Event::Scalar(text, ..) => {
                self.place(pos, Some(&text));
            }
            Event::Alias(_) => {
                self.place(pos, Some("<alias>"));
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_seq = matches!(ev, Event::SequenceStart(..));
                if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
                    *depth += 1;
                    return;
                }
                if self.is_key_position() {
                    // A complex key: index nothing inside it, and name it as such.
                    self.place(pos, None);
                    self.stack.push(Frame::Skip { depth: 1 });
                    return;
                }
                let Some((pointer, display)) = self.place(pos, None) else {
                    return;
                };
                self.stack.push(if is_seq {
                    Frame::Seq {
                        pointer,
                        display,
                        next: 0,
                    }
                } else {
                    Frame::Map {
                        pointer,
                        display,
                        pending: None,
                        seen: HashMap::new(),
                        first_key: true,
                    }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
                    *depth -= 1;
                    if *depth > 0 {
                        return;
                    }
                }
                self.stack.pop();
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// A problem converting YAML to JSON: where (pointer) and what.
pub(crate) type ConvertError = (String, String);

/// Converts a serde_norway value to JSON for schema validation. Keys must be scalars (numbers
/// and booleans become their text, as `map: {0: off}` needs); tags and non-finite numbers
/// are refused. Every problem is collected; the result is None when there was any.
pub(crate) fn to_json(value: &Yaml, errors: &mut Vec<ConvertError>) -> Option<Json> {
    let before = errors.len();
    let json = convert(value, String::new(), errors);
    (errors.len() == before).then_some(json)
}

fn convert(value: &Yaml, pointer: String, errors: &mut Vec<ConvertError>) -> Json {
    match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                match n.as_f64().and_then(serde_json::Number::from_f64) {
                    Some(f) => Json::Number(f),
                    None => {
                        errors.push((pointer, format!("`{n}` is not a finite number")));
                        Json::Null
                    }
                }
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| convert(v, format!("{pointer}/{i}"), errors))
                .collect(),
        ),
        Yaml::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Null => {
                        errors.push((pointer.clone(), "a key is empty".to_string()));
                        continue;
                    }
                    _ => {
                        errors.push((
                            pointer.clone(),
                            "keys must be plain words or numbers, not lists, mappings or tagged values"
                                .to_string(),
                        ));
                        continue;
                    }
                };
                let child = format!("{pointer}/{}", escape(&key));
                let v = convert(v, child, errors);
                out.insert(key, v);
            }
            Json::Object(out)
        }
        Yaml::Tagged(tagged) => {
            errors.push((
                pointer,
                format!(
                    "YAML tags such as `{}` are not supported; write the plain value",
                    tagged.tag
                ),
            ));
            Json::Null
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_and_values() {
        let text = "a:\n  b: 1\n  c: [x, {d: 2}]\nlist:\n  - k: 1\n    j: 2\n  - plain\n";
        let (idx, dups, err) = PosIndex::build(text);
        assert!(dups.is_empty() && err.is_none());
        let b = idx.get("/a/b").expect("indexed");
        assert_eq!(b.key, Some(Pos { line: 2, column: 3 }));
        assert_eq!(b.value, Pos { line: 2, column: 6 });
        assert_eq!(b.display, "a.b");
        // Block mapping inside a sequence starts at its first key.
        assert_eq!(
            idx.get("/list/0").map(|n| n.value),
            Some(Pos { line: 5, column: 5 })
        );
        assert_eq!(
            idx.get("/list/0/j").map(|n| n.display.as_str()),
            Some("list[0].j")
        );
        assert_eq!(
            idx.get("/a/c/1/d").map(|n| n.value),
            Some(Pos {
                line: 3,
                column: 14
            })
        );
        assert_eq!(
            idx.get("/list/1").map(|n| n.value),
            Some(Pos { line: 7, column: 5 })
        );
        // Missing nodes fall back to the nearest ancestor.
        assert_eq!(
            idx.value_pos("/list/0/zzz"),
            Some(Pos { line: 5, column: 5 })
        );
        assert_eq!(idx.display("/list/0/zzz"), "list[0].zzz");
    }

    #[test]
    fn duplicate_keys_are_all_found() {
        let (_, dups, _) = PosIndex::build("a: 1\nb: 2\na: 3\nm:\n  x: 1\n  x: 2\n");
        let found: Vec<_> = dups
            .iter()
            .map(|d| (d.pointer.as_str(), d.first.line))
            .collect();
        assert_eq!(found, vec![("/a", 1), ("/m/x", 5)]);
    }

    #[test]
    fn conversion_turns_number_keys_into_text_and_refuses_tags() {
        let y: Yaml = serde_yaml::from_str("map: {0: off, 1: on}\nt: !foo 1\n").expect("yaml");
        let mut errors = Vec::new();
        assert!(to_json(&y, &mut errors).is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "/t");
        let y: Yaml = serde_yaml::from_str("map: {0: off, 1: on}\n").expect("yaml");
        let j = to_json(&y, &mut Vec::new()).expect("json");
        assert_eq!(j["map"]["1"], "on");
    }

    #[test]
    fn complex_keys_and_aliases_do_not_confuse_the_index() {
        let text = "? [a, b]\n: 1\nx: &A {k: 1}\ny: *A\nz: 2\n";
        let (idx, dups, err) = PosIndex::build(text);
        assert!(err.is_none() && dups.is_empty());
        assert_eq!(idx.get("/z").map(|n| n.value.line), Some(5));
        assert_eq!(idx.get("/y").map(|n| n.value.line), Some(4));
    }
}
