//! The credential store shared by WS-UsernameToken and HTTP Digest, with the rules of
//! GetUsers/CreateUsers/DeleteUsers/SetUser.
//!
//! Users live in the state database; an in-memory copy answers the per-request lookups.
//! Every change request is all-or-nothing: it is checked completely, then written in one
//! transaction, then applied to the copy, all under one lock.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::state::{StateDb, StateError, datadir};

use super::user_table::{self, StoredUser};
use super::{Secret, UserLevel, random_bytes};

/// Limits and fixed users, from the configuration.
#[derive(Clone, Debug)]
pub struct UserLimits {
    /// Most users.
    pub max_users: usize,
    /// Longest user name, in characters.
    pub max_username_len: usize,
    /// Longest password, in characters.
    pub max_password_len: usize,
    /// Shortest password, in characters.
    pub min_password_len: usize,
    /// Users that can be neither deleted nor changed.
    pub fixed_users: Vec<String>,
}

impl Default for UserLimits {
    fn default() -> Self {
        UserLimits {
            max_users: 32,
            max_username_len: 32,
            max_password_len: 64,
            min_password_len: 8,
            fixed_users: Vec::new(),
        }
    }
}

/// A user as a request gives it.
#[derive(Clone, Debug)]
pub struct UserChange {
    /// User name.
    pub username: String,
    /// New password; `None` when the request leaves it out.
    pub password: Option<Secret>,
    /// Level.
    pub level: UserLevel,
}

/// Why a change request was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The user name exists already, or twice in the request.
    #[error("user name {0:?} already exists")]
    UsernameClash(String),
    /// The user name is longer than allowed.
    #[error("user name is longer than {0} characters")]
    UsernameTooLong(usize),
    /// The user name is empty.
    #[error("user name is empty")]
    UsernameTooShort,
    /// The user name has control characters, or starts or ends with white space.
    #[error("user name contains control characters or surrounding white space")]
    UsernameInvalid,
    /// The password is longer than allowed.
    #[error("password is longer than {0} characters")]
    PasswordTooLong(usize),
    /// The password is missing or shorter than allowed.
    #[error("password is missing or shorter than {0} characters")]
    PasswordTooWeak(usize),
    /// More users than allowed.
    #[error("at most {0} users")]
    TooManyUsers(usize),
    /// Level Anonymous requested.
    #[error("user level Anonymous is not allowed")]
    AnonymousNotAllowed,
    /// No such user.
    #[error("no user {0:?}")]
    UsernameMissing(String),
    /// The same user named twice in one request.
    #[error("user {0:?} is named twice in the request")]
    Repeated(String),
    /// A fixed user.
    #[error("user {0:?} is fixed")]
    FixedUser(String),
    /// The change would leave no Administrator.
    #[error("the last Administrator cannot be deleted or demoted")]
    LastAdministrator,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StateError),
}

/// The user store.
#[derive(Debug)]
pub struct UserDirectory {
    db: Arc<StateDb>,
    users: RwLock<BTreeMap<String, StoredUser>>,
    /// Serializes changes (CreateUsers, DeleteUsers, SetUser, first start).
    writer: Mutex<()>,
    limits: UserLimits,
}

impl UserDirectory {
    /// Loads the users from `db`.
    pub fn load(db: Arc<StateDb>, limits: UserLimits) -> Result<Self, StateError> {
        let users = user_table::load(&db)?
            .into_iter()
            .map(|u| (u.username.clone(), u))
            .collect();
        Ok(UserDirectory {
            db,
            users: RwLock::new(users),
            writer: Mutex::new(()),
            limits,
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &UserLimits {
        &self.limits
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, BTreeMap<String, StoredUser>> {
        self.users.read()
    }

    /// A user's password, for verifying credentials.
    pub fn password_of(&self, username: &str) -> Option<Secret> {
        self.read().get(username).map(|u| u.password.clone())
    }

    /// A user's level.
    pub fn level_of(&self, username: &str) -> Option<UserLevel> {
        self.read().get(username).map(|u| u.level)
    }

    /// A user's password and level, in one lookup (what authentication needs).
    pub fn credentials(&self, username: &str) -> Option<(Secret, UserLevel)> {
        self.read()
            .get(username)
            .map(|u| (u.password.clone(), u.level))
    }

    /// Every user name with its level (never the password).
    pub fn list(&self) -> Vec<(String, UserLevel)> {
        self.read()
            .values()
            .map(|u| (u.username.clone(), u.level))
            .collect()
    }

    fn check_name(&self, name: &str) -> Result<(), UserError> {
        if name.is_empty() {
            return Err(UserError::UsernameTooShort);
        }
        if name.chars().count() > self.limits.max_username_len {
            return Err(UserError::UsernameTooLong(self.limits.max_username_len));
        }
        // Control characters break headers and logs; surrounding white space would make a
        // user that no client can log in as (tokens are read trimmed).
        if name.chars().any(char::is_control) || name.trim() != name {
            return Err(UserError::UsernameInvalid);
        }
        Ok(())
    }

    fn check_password(&self, password: Option<&Secret>) -> Result<(), UserError> {
        let len = password.map(|p| p.expose().chars().count()).unwrap_or(0);
        if len > self.limits.max_password_len {
            return Err(UserError::PasswordTooLong(self.limits.max_password_len));
        }
        if len < self.limits.min_password_len.max(1) {
            return Err(UserError::PasswordTooWeak(
                self.limits.min_password_len.max(1),
            ));
        }
        Ok(())
    }

    fn check_level(level: UserLevel) -> Result<(), UserError> {
        if level == UserLevel::Anonymous {
            Err(UserError::AnonymousNotAllowed)
        } else {
            Ok(())
        }
    }

    fn check_unique<'a>(
        names: impl Iterator<Item = &'a str>,
        clash: fn(String) -> UserError,
    ) -> Result<(), UserError> {
        let mut seen = HashSet::new();
        for n in names {
            if !seen.insert(n) {
                return Err(clash(n.to_string()));
            }
        }
        Ok(())
    }

    fn admins_after(
        users: &BTreeMap<String, StoredUser>,
        changed: &[StoredUser],
        deleted: &[String],
    ) -> usize {
        let mut after: BTreeMap<&str, UserLevel> =
            users.iter().map(|(k, u)| (k.as_str(), u.level)).collect();
        for u in changed {
            after.insert(&u.username, u.level);
        }
        for d in deleted {
            after.remove(d.as_str());
        }
        after
            .values()
            .filter(|l| **l == UserLevel::Administrator)
            .count()
    }

    /// Starts a change: serializes changers (not readers) and gives a snapshot to check the
    /// change against. Logins keep reading while a change is checked and written.
    fn begin(
        &self,
    ) -> (
        parking_lot::MutexGuard<'_, ()>,
        BTreeMap<String, StoredUser>,
    ) {
        let writer = self.writer.lock();
        let snapshot = self.read().clone();
        (writer, snapshot)
    }

    /// Writes a checked change to the database, then applies it to the copy (the write lock
    /// is held only for the apply, never during the disk write).
    fn commit(&self, upserts: Vec<StoredUser>, deletes: Vec<String>) -> Result<(), UserError> {
        user_table::write(&self.db, &upserts, &deletes)?;
        let mut users = self.users.write();
        for d in &deletes {
            users.remove(d);
        }
        for u in upserts {
            users.insert(u.username.clone(), u);
        }
        Ok(())
    }

    /// CreateUsers: all or nothing.
    pub fn create(&self, new: Vec<UserChange>) -> Result<(), UserError> {
        let (_writer, users) = self.begin();
        Self::check_unique(
            new.iter().map(|u| u.username.as_str()),
            UserError::UsernameClash,
        )?;
        for u in &new {
            self.check_name(&u.username)?;
            if users.contains_key(&u.username) {
                return Err(UserError::UsernameClash(u.username.clone()));
            }
            self.check_password(u.password.as_ref())?;
            Self::check_level(u.level)?;
        }
        if users.len() + new.len() > self.limits.max_users {
            return Err(UserError::TooManyUsers(self.limits.max_users));
        }
        let upserts = new
            .into_iter()
            .map(|u| StoredUser {
                username: u.username,
                password: u.password.unwrap_or_default(),
                level: u.level,
            })
            .collect();
        self.commit(upserts, Vec::new())
    }

    /// DeleteUsers: all or nothing.
    pub fn delete(&self, names: Vec<String>) -> Result<(), UserError> {
        let (_writer, users) = self.begin();
        Self::check_unique(names.iter().map(String::as_str), UserError::Repeated)?;
        for n in &names {
            if !users.contains_key(n) {
                return Err(UserError::UsernameMissing(n.clone()));
            }
            if self.limits.fixed_users.contains(n) {
                return Err(UserError::FixedUser(n.clone()));
            }
        }
        if Self::admins_after(&users, &[], &names) == 0 {
            return Err(UserError::LastAdministrator);
        }
        self.commit(Vec::new(), names)
    }

    /// SetUser: all or nothing. An omitted password means "clear it", which the password
    /// rules refuse (as the standard says: PasswordTooWeak).
    pub fn set(&self, changes: Vec<UserChange>) -> Result<(), UserError> {
        let (_writer, users) = self.begin();
        Self::check_unique(
            changes.iter().map(|u| u.username.as_str()),
            UserError::Repeated,
        )?;
        for c in &changes {
            if !users.contains_key(&c.username) {
                return Err(UserError::UsernameMissing(c.username.clone()));
            }
            if self.limits.fixed_users.contains(&c.username) {
                return Err(UserError::FixedUser(c.username.clone()));
            }
            self.check_password(c.password.as_ref())?;
            Self::check_level(c.level)?;
        }
        let upserts: Vec<StoredUser> = changes
            .into_iter()
            .map(|c| StoredUser {
                username: c.username,
                password: c.password.unwrap_or_default(),
                level: c.level,
            })
            .collect();
        if Self::admins_after(&users, &upserts, &[]) == 0 {
            return Err(UserError::LastAdministrator);
        }
        self.commit(upserts, Vec::new())
    }

    /// First start: with no users at all, creates `admin` (Administrator) with `password`, or
    /// with a random one written to a 0600 file in `data_dir` (the log names the file, never
    /// the password).
    /// Returns the file written, if any.
    pub fn bootstrap(
        &self,
        password: Option<Secret>,
        data_dir: &Path,
    ) -> Result<Option<std::path::PathBuf>, BootstrapError> {
        if !self.read().is_empty() {
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(p) => (p, false),
            None => {
                use base64::Engine;
                let random =
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<18>());
                (Secret::new(random), true)
            }
        };
        if !generated {
            self.create(vec![UserChange {
                username: "admin".into(),
                password: Some(password),
                level: UserLevel::Administrator,
            }])
            .map_err(BootstrapError::Rejected)?;
            tracing::info!(
                user = "admin",
                "created the first Administrator with the password given at start"
            );
            return Ok(None);
        }
        // The file is written before the user is created: if writing fails, nothing is
        // created and the next start tries again, so the password is never lost. A file left
        // over from an earlier database is replaced.
        let file = data_dir.join("initial-admin-password");
        datadir::replace_private_file(&file, &format!("{}\n", password.expose())).map_err(
            |source| BootstrapError::Io {
                path: file.clone(),
                source,
            },
        )?;
        self.create(vec![UserChange {
            username: "admin".into(),
            password: Some(password.clone()),
            level: UserLevel::Administrator,
        }])
        .map_err(BootstrapError::Rejected)?;
        // The log names the file, never the password: logs are shipped and kept elsewhere.
        tracing::warn!(
            user = "admin",
            file = %file.display(),
            "created the first Administrator with a random password; change it with SetUser and delete the file"
        );
        Ok(Some(file))
    }
}

/// Why the first Administrator could not be created.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The password given breaks the password rules.
    #[error("the first Administrator's password is not acceptable: {0}")]
    Rejected(UserError),
    /// The password file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, UserDirectory) {
        let tmp = tempfile::tempdir().unwrap();
        let db = Arc::new(StateDb::open(tmp.path()).unwrap());
        let limits = UserLimits {
            max_users: 4,
            fixed_users: vec!["fixed".into()],
            ..UserLimits::default()
        };
        (tmp, UserDirectory::load(db, limits).unwrap())
    }

    fn change(name: &str, pw: Option<&str>, level: UserLevel) -> UserChange {
        UserChange {
            username: name.into(),
            password: pw.map(Secret::new),
            level,
        }
    }

    #[test]
    fn create_is_all_or_nothing_with_the_standard_rules() {
        let (_t, d) = dir();
        d.create(vec![change(
            "admin",
            Some("password1"),
            UserLevel::Administrator,
        )])
        .unwrap();
        let e = d.create(vec![
            change("op", Some("password1"), UserLevel::Operator),
            change("admin", Some("password1"), UserLevel::User),
        ]);
        assert!(matches!(e, Err(UserError::UsernameClash(_))));
        assert_eq!(d.list().len(), 1, "nothing created");
        assert!(matches!(
            d.create(vec![
                change("a", Some("password1"), UserLevel::User),
                change("a", Some("password1"), UserLevel::User)
            ]),
            Err(UserError::UsernameClash(_))
        ));
        assert!(matches!(
            d.create(vec![change("", Some("password1"), UserLevel::User)]),
            Err(UserError::UsernameTooShort)
        ));
        assert!(matches!(
            d.create(vec![change(
                &"x".repeat(33),
                Some("password1"),
                UserLevel::User
            )]),
            Err(UserError::UsernameTooLong(32))
        ));
        assert!(matches!(
            d.create(vec![change("u", Some("short"), UserLevel::User)]),
            Err(UserError::PasswordTooWeak(8))
        ));
        assert!(matches!(
            d.create(vec![change("u", None, UserLevel::User)]),
            Err(UserError::PasswordTooWeak(8))
        ));
        assert!(matches!(
            d.create(vec![change("u", Some(&"p".repeat(65)), UserLevel::User)]),
            Err(UserError::PasswordTooLong(64))
        ));
        assert!(matches!(
            d.create(vec![change("u", Some("password1"), UserLevel::Anonymous)]),
            Err(UserError::AnonymousNotAllowed)
        ));
        let many: Vec<_> = (0..4)
            .map(|i| change(&format!("u{i}"), Some("password1"), UserLevel::User))
            .collect();
        assert!(matches!(d.create(many), Err(UserError::TooManyUsers(4))));
        assert_eq!(d.list().len(), 1);
    }

    #[test]
    fn delete_and_set_protect_the_last_administrator_and_fixed_users() {
        let (_t, d) = dir();
        d.create(vec![
            change("admin", Some("password1"), UserLevel::Administrator),
            change("fixed", Some("password1"), UserLevel::User),
        ])
        .unwrap();
        assert!(matches!(
            d.delete(vec!["admin".into()]),
            Err(UserError::LastAdministrator)
        ));
        assert!(matches!(
            d.set(vec![change("admin", Some("password2"), UserLevel::User)]),
            Err(UserError::LastAdministrator)
        ));
        assert!(matches!(
            d.delete(vec!["fixed".into()]),
            Err(UserError::FixedUser(_))
        ));
        assert!(matches!(
            d.set(vec![change("fixed", Some("password2"), UserLevel::User)]),
            Err(UserError::FixedUser(_))
        ));
        assert!(matches!(
            d.delete(vec!["nobody".into()]),
            Err(UserError::UsernameMissing(_))
        ));
        assert!(matches!(
            d.set(vec![change("admin", None, UserLevel::Administrator)]),
            Err(UserError::PasswordTooWeak(_))
        ));
        d.set(vec![change(
            "admin",
            Some("password2"),
            UserLevel::Administrator,
        )])
        .unwrap();
        assert_eq!(d.password_of("admin").unwrap().expose(), "password2");
        d.create(vec![change(
            "second",
            Some("password1"),
            UserLevel::Administrator,
        )])
        .unwrap();
        d.delete(vec!["admin".into()]).unwrap();
        assert_eq!(d.level_of("admin"), None);
    }

    #[test]
    fn bootstrap_creates_admin_once_with_a_private_password_file() {
        let (t, d) = dir();
        let file = d
            .bootstrap(None, t.path())
            .unwrap()
            .expect("random password written");
        let pw = std::fs::read_to_string(&file).unwrap();
        assert_eq!(d.password_of("admin").unwrap().expose(), pw.trim());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            d.bootstrap(None, t.path()).unwrap(),
            None,
            "only when no user exists"
        );
        let (t2, d2) = dir();
        assert_eq!(
            d2.bootstrap(Some(Secret::new("from-the-env")), t2.path())
                .unwrap(),
            None
        );
        assert_eq!(d2.password_of("admin").unwrap().expose(), "from-the-env");
    }
}
