//! From text to checked structure: YAML syntax, duplicate keys, the JSON Schema, and then
//! typed items, one at a time.
//!
//! Items are deserialized one by one, skipping those the schema found wrong: one broken item
//! does not hide the problems of the others, and positions stay those of the file.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::diag::Diagnostic;
use crate::doc::Doc;
use crate::schema::{self, FileKind};
use crate::yaml;

/// A file after the structural checks.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The file and its positions.
    pub doc: Doc,
    /// The document as JSON (an object), or None when it could not be read at all.
    pub root: Option<Json>,
    /// Pointers of nodes with structural problems.
    pub bad: BTreeSet<String>,
    /// The problems found so far.
    pub diags: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether the node at `pointer` (or anything under it) was found wrong.
    pub(crate) fn is_bad(&self, pointer: &str) -> bool {
        let below = format!("{pointer}/");
        self.bad
            .range(pointer.to_string()..)
            .take_while(|b| b.starts_with(pointer))
            .any(|b| b == pointer || b.starts_with(&below))
    }

    /// The items of list section `key` that are structurally sound, typed, with their pointers.
    pub(crate) fn items<T: DeserializeOwned>(&mut self, key: &str) -> Vec<(String, T)> {
        let mut out = Vec::new();
        let Some(Json::Array(list)) = self.root.as_ref().and_then(|r| r.get(key)) else {
            return out;
        };
        let mut failed = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let pointer = format!("/{key}/{i}");
            if self.is_bad(&pointer) {
                continue;
            }
            match serde_json::from_value::<T>(item.clone()) {
                Ok(t) => out.push((pointer, t)),
                Err(e) => failed.push((pointer, e.to_string())),
            }
        }
        for (pointer, message) in failed {
            self.diags.push(self.doc.at_value(&pointer, message));
            self.bad.insert(pointer);
        }
        out
    }

    /// Like [`Parsed::items`], but an item whose problems are all in optional settings is
    /// still read, without those settings (for controllers: their items can then still be
    /// checked). The problems are already reported.
    /// The flag says whether something was left out.
    pub(crate) fn salvaged_items<T: DeserializeOwned>(
        &mut self,
        key: &str,
    ) -> Vec<(String, T, bool)> {
        let mut out = Vec::new();
        let Some(Json::Array(list)) = self.root.as_ref().and_then(|r| r.get(key)) else {
            return out;
        };
        for (i, item) in list.iter().enumerate() {
            let pointer = format!("/{key}/{i}");
            if self.bad.contains(&pointer) {
                continue;
            }
            let mut item = item.clone();
            let below = format!("{pointer}/");
            let fields: BTreeSet<String> = self
                .bad
                .iter()
                .filter_map(|b| b.strip_prefix(&below))
                .filter_map(|rest| rest.split('/').next())
                .map(yaml::unescape)
                .collect();
            if let Json::Object(map) = &mut item {
                for f in &fields {
                    map.remove(f);
                }
            }
            match serde_json::from_value::<T>(item) {
                Ok(t) => out.push((pointer, t, !fields.is_empty())),
                Err(e) if fields.is_empty() => {
                    self.diags.push(self.doc.at_value(&pointer, e.to_string()));
                    self.bad.insert(pointer);
                }
                Err(_) => {}
            }
        }
        out
    }

    /// `topic_namespaces` as (prefix, uri, pointer of the uri).
    pub(crate) fn namespaces(&self) -> Vec<(String, String, String)> {
        let Some(Json::Object(map)) = self.root.as_ref().and_then(|r| r.get("topic_namespaces"))
        else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(k, v)| {
                let pointer = format!("/topic_namespaces/{}", yaml::escape(k));
                let uri = v.as_str()?;
                (!self.is_bad(&pointer)).then(|| (k.clone(), uri.to_string(), pointer))
            })
            .collect()
    }

    /// The raw JSON at `pointer`.
    pub(crate) fn raw(&self, pointer: &str) -> Option<&Json> {
        self.root.as_ref().and_then(|r| r.pointer(pointer))
    }
}

/// Reads `text` (named `path`) as a file of `kind`: YAML, duplicate keys, schema.
pub(crate) fn parse(kind: FileKind, path: &Path, text: &str) -> Parsed {
    let finish = |doc, root, diags, bad| Parsed {
        doc,
        root,
        bad,
        diags,
    };
    let (doc, value, mut diags) = match Doc::read_parts(path, text) {
        (doc, Some(value), diags) => (doc, value, diags),
        (doc, None, diags) => return finish(doc, None, diags, BTreeSet::new()),
    };
    let mut conversion = Vec::new();
    let Some(mut json) = yaml::to_json(&value, &mut conversion) else {
        diags.extend(conversion.iter().map(|(p, m)| doc.at_value(p, m.clone())));
        return finish(doc, None, diags, BTreeSet::new());
    };
    if json.is_null() {
        json = Json::Object(serde_json::Map::new());
    }
    let Json::Object(map) = &mut json else {
        diags.push(doc.at_value(
            "",
            "a mapping file is a YAML mapping of sections (`controllers:`, `inputs:`, `relays:`, `values:`, `commands:`, `serial_ports:`)",
        ));
        return finish(doc, None, diags, BTreeSet::new());
    };
    // An empty section (`inputs:` with nothing under it) is the same as no section.
    map.retain(|_, v| !v.is_null());
    let (schema_diags, bad) = schema::check(kind, &doc, &json);
    diags.extend(schema_diags);
    finish(doc, Some(json), diags, bad)
}
