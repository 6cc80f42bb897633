//! The owners of what WS-Discovery announces: the device's scopes and its discovery mode,
//! both persisted in the state database. Every change notifies `changed` (WS-Discovery then
//! announces it with a Hello). The SOAP operations over them are in
//! `services::device::scopes`; refusals here are typed, and the handler picks the fault.

use std::sync::Arc;

use parking_lot::RwLock;

use tokio::sync::Notify;

use crate::state::{StateDb, StateError};

use super::scope::{MAX_CONFIGURABLE, is_valid_scope};

/// Why a scope change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    /// Not an absolute URI.
    #[error("{0:?} is not an absolute URI")]
    NotAbsolute(String),
    /// SetScopes or AddScopes named a fixed scope.
    #[error("{0} is a fixed scope and cannot be set")]
    Overwrite(String),
    /// RemoveScopes named a fixed scope.
    #[error("{0} is fixed")]
    Fixed(String),
    /// RemoveScopes named a scope that is not there.
    #[error("{0} does not exist")]
    NoScope(String),
    /// More than [`MAX_CONFIGURABLE`] configurable scopes.
    #[error("at most {MAX_CONFIGURABLE} configurable scopes")]
    TooMany,
    /// The state database could not store the change.
    #[error("state database write failed: {0}")]
    Storage(#[from] StateError),
}

/// The device's scopes.
#[derive(Debug)]
pub struct ScopeStore {
    db: Arc<StateDb>,
    fixed: Vec<String>,
    configurable: RwLock<Vec<String>>,
    /// Told of every change (WS-Discovery announces new scopes with a Hello).
    changed: Arc<Notify>,
}

impl ScopeStore {
    /// Keeps the `fixed` scopes and loads the configurable ones, or on first start stores
    /// `initial` as them (see `scope::fixed_scopes` and `scope::initial_scopes`).
    pub fn load(
        db: Arc<StateDb>,
        fixed: Vec<String>,
        initial: Vec<String>,
        changed: Arc<Notify>,
    ) -> Result<Self, StateError> {
        let configurable = match db.scopes()? {
            Some(saved) => saved,
            None => {
                db.set_scopes(&initial)?;
                initial
            }
        };
        Ok(ScopeStore {
            db,
            fixed,
            configurable: RwLock::new(configurable),
            changed,
        })
    }

    /// Fixed scopes, then configurable ones.
    pub fn all(&self) -> Vec<(bool, String)> {
        let configurable = self.configurable.read();
        self.fixed
            .iter()
            .map(|s| (true, s.clone()))
            .chain(configurable.iter().map(|s| (false, s.clone())))
            .collect()
    }

    fn check_new(&self, uris: &[String]) -> Result<(), ScopeError> {
        for uri in uris {
            if !is_valid_scope(uri) {
                return Err(ScopeError::NotAbsolute(uri.clone()));
            }
            if self.fixed.contains(uri) {
                return Err(ScopeError::Overwrite(uri.clone()));
            }
        }
        Ok(())
    }

    fn store(&self, list: &mut Vec<String>, new: Vec<String>) -> Result<(), ScopeError> {
        if new.len() > MAX_CONFIGURABLE {
            return Err(ScopeError::TooMany);
        }
        self.db.set_scopes(&new)?;
        *list = new;
        self.changed.notify_one();
        Ok(())
    }

    /// SetScopes: replaces every configurable scope.
    pub fn set(&self, uris: Vec<String>) -> Result<(), ScopeError> {
        self.check_new(&uris)?;
        let mut deduped: Vec<String> = Vec::with_capacity(uris.len());
        for u in uris {
            if !deduped.contains(&u) {
                deduped.push(u);
            }
        }
        let mut list = self.configurable.write();
        self.store(&mut list, deduped)
    }

    /// AddScopes: adds to the configurable scopes (ones already there stay once).
    pub fn add(&self, uris: Vec<String>) -> Result<(), ScopeError> {
        self.check_new(&uris)?;
        let mut list = self.configurable.write();
        let mut new = list.clone();
        for u in uris {
            if !new.contains(&u) {
                new.push(u);
            }
        }
        self.store(&mut list, new)
    }

    /// RemoveScopes: removes configurable scopes; all must exist.
    pub fn remove(&self, uris: &[String]) -> Result<(), ScopeError> {
        let mut list = self.configurable.write();
        for uri in uris {
            if self.fixed.contains(uri) {
                return Err(ScopeError::Fixed(uri.clone()));
            }
            if !list.contains(uri) {
                return Err(ScopeError::NoScope(uri.clone()));
            }
        }
        let new = list.iter().filter(|s| !uris.contains(s)).cloned().collect();
        self.store(&mut list, new)
    }
}

/// Whether the device answers WS-Discovery.
#[derive(Debug)]
pub struct DiscoveryMode {
    db: Arc<StateDb>,
    discoverable: RwLock<bool>,
    changed: Arc<Notify>,
}

impl DiscoveryMode {
    /// Loads the mode (Discoverable by default, as the standard says).
    pub fn load(db: Arc<StateDb>, changed: Arc<Notify>) -> Result<Self, StateError> {
        let discoverable = db.setting("discovery_mode")?.as_deref() != Some("NonDiscoverable");
        Ok(DiscoveryMode {
            db,
            discoverable: RwLock::new(discoverable),
            changed,
        })
    }

    /// Whether the device is discoverable.
    pub fn is_discoverable(&self) -> bool {
        *self.discoverable.read()
    }

    /// SetDiscoveryMode: stores the mode, then announces it.
    pub fn set(&self, discoverable: bool) -> Result<(), StateError> {
        let mut current = self.discoverable.write();
        let value = if discoverable {
            "Discoverable"
        } else {
            "NonDiscoverable"
        };
        self.db.set_setting("discovery_mode", value)?;
        *current = discoverable;
        self.changed.notify_one();
        Ok(())
    }
}
