//! Access classes, user levels and the default access policy of ONVIF Core, and the
//! [`Operation`] type the generated [`super::access_table`] is written in. Imports nothing
//! of `security`: the table and the lookup ([`super::lookup`]) are built on it.

use std::fmt;
use std::str::FromStr;

use crate::soap::Service;

/// The access class an operation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessClass {
    /// No authentication needed.
    PreAuth,
    /// Reads ordinary configuration.
    ReadSystem,
    /// Reads sensitive, non-secret configuration.
    ReadSystemSensitive,
    /// Reads confidential data (users, logs, backups).
    ReadSystemSecret,
    /// Changes configuration.
    WriteSystem,
    /// Irreversible actions.
    Unrecoverable,
    /// Reads media or event data.
    ReadMedia,
    /// Changes runtime behaviour (relays, doors).
    Actuate,
}

/// An ONVIF user level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserLevel {
    /// Full control.
    Administrator,
    /// Operates the device (relays), reads sensitive configuration.
    Operator,
    /// Reads configuration and events.
    User,
    /// Not authenticated.
    Anonymous,
}

impl UserLevel {
    /// The tt:UserLevel spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UserLevel::Administrator => "Administrator",
            UserLevel::Operator => "Operator",
            UserLevel::User => "User",
            UserLevel::Anonymous => "Anonymous",
        }
    }
}

impl fmt::Display for UserLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserLevel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "Administrator" => Ok(UserLevel::Administrator),
            "Operator" => Ok(UserLevel::Operator),
            "User" => Ok(UserLevel::User),
            "Anonymous" => Ok(UserLevel::Anonymous),
            _ => Err(()),
        }
    }
}

/// The default access policy: may a user of `level` call an operation of `class`?
pub fn allows(level: UserLevel, class: AccessClass) -> bool {
    use AccessClass::*;
    use UserLevel::*;
    match class {
        PreAuth => true,
        ReadSystem | ReadMedia => level <= User,
        ReadSystemSensitive | Actuate => level <= Operator,
        ReadSystemSecret | WriteSystem | Unrecoverable => level == Administrator,
    }
}

/// One operation a service offers, with its access class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The service whose endpoint serves it.
    pub service: Service,
    /// Namespace of the request element.
    pub ns: &'static str,
    /// Local name of the request element (= the operation name).
    pub name: &'static str,
    /// Its access class.
    pub class: AccessClass,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_table() {
        use AccessClass::*;
        use UserLevel::*;
        // Rows of the Core default access policy: which levels may call each class.
        let rows = [
            (PreAuth, [true, true, true, true]),
            (ReadSystem, [true, true, true, false]),
            (ReadSystemSensitive, [true, true, false, false]),
            (ReadSystemSecret, [true, false, false, false]),
            (WriteSystem, [true, false, false, false]),
            (Unrecoverable, [true, false, false, false]),
            (ReadMedia, [true, true, true, false]),
            (Actuate, [true, true, false, false]),
        ];
        for (class, expect) in rows {
            for (level, want) in [Administrator, Operator, User, Anonymous]
                .into_iter()
                .zip(expect)
            {
                assert_eq!(allows(level, class), want, "{level:?} on {class:?}");
            }
        }
    }
}
