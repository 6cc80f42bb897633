//! Where a finding is reported, and how findings about a profile instance are grouped.
//!
//! The rule: a problem inside a profile (the same for every instance) is reported against the
//! profile's file; a problem that only exists because of how the profile was instantiated
//! (clashing tokens, an offset that overlaps another item) is reported against the instance
//! (`profile:` in the site file), with the affected items summarised in one message.

use crate::diag::Diagnostic;
use crate::doc::Doc;

/// Where an item was written: a file (index into the compiler's docs), the item's pointer,
/// and the profile instance it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Here {
    /// Index into the documents (0 is the site file).
    pub doc: usize,
    /// The item's JSON pointer in that document.
    pub pointer: String,
    /// The profile instance, for items of a profile.
    pub inst: Option<usize>,
}

impl Here {
    /// A location inside this item.
    pub(crate) fn sub(&self, sub: &str) -> String {
        format!("{}{sub}", self.pointer)
    }
}

/// A profile instantiated on a controller.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    /// Pointer of `controllers[i].profile` in the site file.
    pub site_pointer: String,
    /// The controller's name.
    pub controller: String,
    /// The profile's name.
    pub profile: String,
}

/// Instance-level findings of one kind, reported as one message.
#[derive(Debug)]
struct Group {
    site_pointer: String,
    head: String,
    items: Vec<String>,
}

/// Collects diagnostics for several documents.
#[derive(Debug, Default)]
pub(crate) struct Reporter {
    /// Every finding so far.
    pub diags: Vec<Diagnostic>,
    groups: Vec<Group>,
}

impl Reporter {
    /// A finding at the value `sub` below `here`.
    pub(crate) fn value(
        &mut self,
        docs: &[Doc],
        here: &Here,
        sub: &str,
        message: impl Into<String>,
    ) {
        if let Some(doc) = docs.get(here.doc) {
            self.diags.push(doc.at_value(&here.sub(sub), message));
        }
    }

    /// A warning at the value `sub` below `here` (the file still compiles).
    pub(crate) fn warn(
        &mut self,
        docs: &[Doc],
        here: &Here,
        sub: &str,
        message: impl Into<String>,
    ) {
        if let Some(doc) = docs.get(here.doc) {
            self.diags
                .push(doc.at_value(&here.sub(sub), message).warning());
        }
    }

    /// A finding at the key `sub` below `here`.
    pub(crate) fn key(&mut self, docs: &[Doc], here: &Here, sub: &str, message: impl Into<String>) {
        if let Some(doc) = docs.get(here.doc) {
            self.diags.push(doc.at_key(&here.sub(sub), message));
        }
    }

    /// A finding about instance `inst` caused by `item`; findings with the same `head` on the
    /// same instance become one message.
    pub(crate) fn instance(
        &mut self,
        instances: &[Instance],
        inst: usize,
        head: String,
        item: String,
    ) {
        let Some(i) = instances.get(inst) else {
            return;
        };
        match self
            .groups
            .iter_mut()
            .find(|g| g.site_pointer == i.site_pointer && g.head == head)
        {
            Some(g) => {
                if !g.items.contains(&item) {
                    g.items.push(item);
                }
            }
            None => self.groups.push(Group {
                site_pointer: i.site_pointer.clone(),
                head,
                items: vec![item],
            }),
        }
    }

    /// Turns the groups into diagnostics against the site file (`docs[0]`), sorts everything
    /// by file and position, and drops exact repeats (a profile's own problem is found once
    /// per instance).
    pub(crate) fn finish(mut self, docs: &[Doc]) -> Vec<Diagnostic> {
        if let Some(site) = docs.first() {
            for g in std::mem::take(&mut self.groups) {
                const SHOWN: usize = 6;
                let mut list: Vec<String> = g.items.iter().take(SHOWN).cloned().collect();
                if g.items.len() > SHOWN {
                    list.push(format!("and {} more", g.items.len() - SHOWN));
                }
                self.diags.push(
                    site.at_value(&g.site_pointer, format!("{}: {}", g.head, list.join(", "))),
                );
            }
        }
        let order = |d: &Diagnostic| {
            docs.iter()
                .position(|doc| doc.source.path == d.file)
                .unwrap_or(usize::MAX)
        };
        let mut diags = self.diags;
        diags.sort_by_key(|d| (order(d), d.line, d.column));
        let mut seen = std::collections::HashSet::new();
        diags.retain(|d| seen.insert((d.file.clone(), d.line, d.column, d.message.clone())));
        diags
    }
}
