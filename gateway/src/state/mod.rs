//! Runtime state that clients change (users, scopes, discovery mode, settings), kept in a
//! SQLite database in the data folder so it survives restarts.

pub mod datadir;
pub mod db;
pub mod factory;
pub mod migrate;
pub mod snapshot;

pub use db::{StateDb, StateError};
