//! The users table of the state database: the rows behind [`super::users::UserDirectory`].
//! The queries live here, beside the types the rows carry ([`Secret`], [`UserLevel`]), so the
//! state database itself needs nothing from `security`; the table is created by its
//! migrations.

use rusqlite::params;

use crate::state::{StateDb, StateError};

use super::{Secret, UserLevel};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUser {
    /// User name.
    pub username: String,
    /// Password (kept in clear because both digest schemes need it; the file is 0600).
    pub password: Secret,
    /// Level.
    pub level: UserLevel,
}

/// Every user, by name.
pub fn load(db: &StateDb) -> Result<Vec<StoredUser>, StateError> {
    db.with(|c| {
        let mut stmt =
            c.prepare("SELECT username, password, level FROM users ORDER BY username")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut users = Vec::new();
        for row in rows {
            let (username, password, level) = row?;
            let level = level
                .parse()
                .map_err(|_| StateError::Corrupt(format!("user level {level:?}")))?;
            users.push(StoredUser {
                username,
                password: Secret::new(password),
                level,
            });
        }
        Ok(users)
    })
}

/// Inserts or replaces `upserts` and deletes `deletes`, all in one transaction.
pub fn write(db: &StateDb, upserts: &[StoredUser], deletes: &[String]) -> Result<(), StateError> {
    db.with(|c| {
        let tx = c.transaction()?;
        for u in upserts {
            tx.execute(
                "INSERT INTO users (username, password, level) VALUES (?1, ?2, ?3)
                 ON CONFLICT(username) DO UPDATE SET password = excluded.password, level = excluded.level",
                params![u.username, u.password.expose(), u.level.as_str()],
            )?;
        }
        for name in deletes {
            tx.execute("DELETE FROM users WHERE username = ?1", [name])?;
        }
        tx.commit()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_a_reopen_and_deletes_take() {
        let tmp = tempfile::tempdir().unwrap();
        let admin = StoredUser {
            username: "admin".into(),
            password: Secret::new("pw"),
            level: UserLevel::Administrator,
        };
        write(
            &StateDb::open(tmp.path()).unwrap(),
            std::slice::from_ref(&admin),
            &[],
        )
        .unwrap();
        let db = StateDb::open(tmp.path()).unwrap();
        assert_eq!(load(&db).unwrap(), vec![admin]);
        write(&db, &[], &["admin".into()]).unwrap();
        assert!(load(&db).unwrap().is_empty());
    }
}
