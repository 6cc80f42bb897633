//! The access policy (GetAccessPolicy / SetAccessPolicy): which user levels may call the
//! operations of each access class, as a YAML document, kept in the state database
//! (`access_policy`; a factory default resets it). Without one, Core's default access
//! policy ([`super::access::allows`]) holds.
//!
//! The document names every class once, with its levels:
//!
//! ```yaml
//! PRE_AUTH: [Administrator, Operator, User, Anonymous]
//! READ_SYSTEM: [Administrator, Operator, User]
//! ...
//! ```
//!
//! What a site may change is bounded, so that no policy locks the Administrator out or
//! opens the device: PRE_AUTH stays open to all (clients need it to authenticate at all);
//! Anonymous gets nothing else; READ_SYSTEM_SECRET, WRITE_SYSTEM and UNRECOVERABLE stay the
//! Administrator's alone (secrets, configuration, irreversible actions); the Administrator
//! keeps every class. READ_SYSTEM, READ_SYSTEM_SENSITIVE, READ_MEDIA and ACTUATE may be
//! given to, or taken from, Operators and Users (e.g. let Users switch a relay, or keep
//! events from Users).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::access::{AccessClass, UserLevel, allows};
use crate::state::{StateDb, StateError};

/// The settings key.
pub const KEY: &str = "access_policy";

/// The media type GetAccessPolicy labels the document with.
pub const CONTENT_TYPE: &str = "application/yaml";

const CLASSES: [(AccessClass, &str); 8] = [
    (AccessClass::PreAuth, "PRE_AUTH"),
    (AccessClass::ReadSystem, "READ_SYSTEM"),
    (AccessClass::ReadSystemSensitive, "READ_SYSTEM_SENSITIVE"),
    (AccessClass::ReadSystemSecret, "READ_SYSTEM_SECRET"),
    (AccessClass::WriteSystem, "WRITE_SYSTEM"),
    (AccessClass::Unrecoverable, "UNRECOVERABLE"),
    (AccessClass::ReadMedia, "READ_MEDIA"),
    (AccessClass::Actuate, "ACTUATE"),
];

const LEVELS: [UserLevel; 4] = [
    UserLevel::Administrator,
    UserLevel::Operator,
    UserLevel::User,
    UserLevel::Anonymous,
];

/// Which levels each class admits (a bit per level, in [`LEVELS`] order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Table([u8; 8]);

impl Table {
    fn default_policy() -> Table {
        let mut t = [0u8; 8];
        for (i, (class, _)) in CLASSES.iter().enumerate() {
            for (b, level) in LEVELS.iter().enumerate() {
                if allows(*level, *class) {
                    t[i] |= 1 << b;
                }
            }
        }
        Table(t)
    }

    fn allows(&self, level: UserLevel, class: AccessClass) -> bool {
        let i = CLASSES.iter().position(|(c, _)| *c == class).unwrap_or(0);
        let b = LEVELS.iter().position(|l| *l == level).unwrap_or(3);
        self.0[i] & (1 << b) != 0
    }

    fn document(&self) -> String {
        let mut out = String::from(
            "# railgate access policy: the user levels that may call each access class's operations.\n\
             # Operators and Users may be given or refused READ_SYSTEM, READ_SYSTEM_SENSITIVE,\n\
             # READ_MEDIA and ACTUATE; the other classes are fixed.\n",
        );
        for (i, (_, name)) in CLASSES.iter().enumerate() {
            out.push_str(&format!("{name}: {}\n", self.levels(i)));
        }
        out
    }

    fn parse(text: &str) -> Result<Table, String> {
        let map: BTreeMap<String, Vec<String>> =
            serde_yaml::from_str(text).map_err(|e| format!("not a policy document: {e}"))?;
        for key in map.keys() {
            if !CLASSES.iter().any(|(_, n)| n == key) {
                return Err(format!("{key} is not an access class"));
            }
        }
        let fixed = Table::default_policy();
        let mut t = [0u8; 8];
        for (i, (class, name)) in CLASSES.iter().enumerate() {
            let Some(levels) = map.get(*name) else {
                return Err(format!("{name} is missing: the document names every class"));
            };
            for l in levels {
                let level: UserLevel = l
                    .parse()
                    .map_err(|()| format!("{name}: {l:?} is not a user level"))?;
                let b = LEVELS.iter().position(|x| *x == level).unwrap_or(3);
                if t[i] & (1 << b) != 0 {
                    return Err(format!("{name}: {l} is listed twice"));
                }
                t[i] |= 1 << b;
            }
            let adjustable = matches!(
                class,
                AccessClass::ReadSystem
                    | AccessClass::ReadSystemSensitive
                    | AccessClass::ReadMedia
                    | AccessClass::Actuate
            );
            if !adjustable && t[i] != fixed.0[i] {
                return Err(format!(
                    "{name} cannot be changed: it stays {}",
                    fixed.levels(i)
                ));
            }
            if t[i] & 1 == 0 {
                return Err(format!("{name}: the Administrator keeps every class"));
            }
            if adjustable && t[i] & (1 << 3) != 0 {
                return Err(format!("{name}: Anonymous gets nothing but PRE_AUTH"));
            }
        }
        Ok(Table(t))
    }

    fn levels(&self, i: usize) -> String {
        let v: Vec<&str> = LEVELS
            .iter()
            .enumerate()
            .filter(|(b, _)| self.0[i] & (1 << b) != 0)
            .map(|(_, l)| l.as_str())
            .collect();
        format!("[{}]", v.join(", "))
    }
}

/// Why a policy was refused (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not a valid policy document.
    #[error("{0}")]
    Format(String),
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The access policy in force.
#[derive(Debug)]
pub struct AccessPolicy {
    table: RwLock<Table>,
    db: Option<Arc<StateDb>>,
}

impl Default for AccessPolicy {
    /// Core's default access policy, not persisted.
    fn default() -> Self {
        AccessPolicy {
            table: RwLock::new(Table::default_policy()),
            db: None,
        }
    }
}

impl AccessPolicy {
    /// The policy kept in `db` (the default one if none is, or if the kept one no longer
    /// reads: logged, and the default is safe).
    pub fn load(db: Arc<StateDb>) -> Result<AccessPolicy, StateError> {
        let table = match db.setting(KEY)? {
            None => Table::default_policy(),
            Some(text) => Table::parse(&text).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the stored access policy does not read; the default access policy holds");
                Table::default_policy()
            }),
        };
        Ok(AccessPolicy {
            table: RwLock::new(table),
            db: Some(db),
        })
    }

    /// May a user of `level` call an operation of `class`?
    pub fn allows(&self, level: UserLevel, class: AccessClass) -> bool {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allows(level, class)
    }

    /// The policy as its document.
    pub fn document(&self) -> String {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .document()
    }

    /// Replaces the policy by the one `text` states, checked whole first.
    pub fn set_document(&self, text: &str) -> Result<(), PolicyError> {
        let table = Table::parse(text).map_err(PolicyError::Format)?;
        if let Some(db) = &self.db {
            db.set_setting(KEY, &table.document())?;
        }
        *self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = table;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessClass::*;
    use UserLevel::*;

    #[test]
    fn the_default_document_reads_back_as_the_default_policy() {
        let p = AccessPolicy::default();
        let doc = p.document();
        assert!(
            doc.contains("ACTUATE: [Administrator, Operator]\n"),
            "{doc}"
        );
        assert_eq!(Table::parse(&doc).unwrap(), Table::default_policy());
        for (class, _) in CLASSES {
            for level in LEVELS {
                assert_eq!(p.allows(level, class), allows(level, class));
            }
        }
    }

    #[test]
    fn a_site_may_adjust_the_bounded_classes_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(StateDb::open(dir.path()).unwrap());
        let p = AccessPolicy::load(db.clone()).unwrap();
        let doc = p
            .document()
            .replace(
                "ACTUATE: [Administrator, Operator]",
                "ACTUATE: [Administrator, Operator, User]",
            )
            .replace(
                "READ_MEDIA: [Administrator, Operator, User]",
                "READ_MEDIA: [Administrator, Operator]",
            );
        p.set_document(&doc).unwrap();
        assert!(p.allows(User, Actuate) && !p.allows(User, ReadMedia));
        // Kept: a new load reads it back.
        let again = AccessPolicy::load(db).unwrap();
        assert!(again.allows(User, Actuate));

        let refused = [
            (
                "WRITE_SYSTEM: [Administrator]",
                "WRITE_SYSTEM: [Administrator, Operator]",
            ),
            (
                "ACTUATE: [Administrator, Operator, User]",
                "ACTUATE: [Operator]",
            ),
            (
                "ACTUATE: [Administrator, Operator, User]",
                "ACTUATE: [Administrator, Anonymous]",
            ),
            (
                "PRE_AUTH: [Administrator, Operator, User, Anonymous]",
                "PRE_AUTH: [Administrator]",
            ),
            (
                "ACTUATE: [Administrator, Operator, User]",
                "ACTUATE: [Administrator, Admin]",
            ),
            (
                "ACTUATE: [Administrator, Operator, User]",
                "ACTUATE: [Administrator, User, User]",
            ),
            (
                "ACTUATE: [Administrator, Operator, User]",
                "ACTS: [Administrator]",
            ),
            ("ACTUATE: [Administrator, Operator, User]", ""),
            (
                "ACTUATE: [Administrator, Operator, User]",
                "ACTUATE: [Administrator",
            ),
        ];
        let current = again.document();
        for (from, to) in refused {
            assert!(current.contains(from), "{from}");
            let bad = current.replace(from, to);
            assert!(
                matches!(again.set_document(&bad), Err(PolicyError::Format(_))),
                "{to}"
            );
            assert!(again.allows(User, Actuate), "unchanged after {to}");
        }
    }
}
