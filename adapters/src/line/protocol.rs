//! A whole line protocol as the mapping compiler hands it to the adapter.

use std::time::Duration;

use super::command::{CommandTemplate, EncodeError, Params, encode};
use super::rules::Rule;
use super::spec::{Checksum, Framing, SpecError};
use super::text_template::TemplateError;

/// Keeping the link supervised: a message sent every `every`, and how long the panel may be
/// silent before the link is down. Any received frame counts as a sign of life (a valid
/// checksum is needed when there is one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Supervision {
    /// The command sent periodically (IT-100: `000` poll), if any; a panel that talks on its
    /// own needs none.
    pub command: Option<String>,
    /// Its period.
    pub every: Duration,
    /// Silence after which the link is down.
    pub silence: Duration,
}

/// Everything the line adapter needs to speak one protocol.
#[derive(Clone, Debug)]
pub struct LineProtocol {
    /// Its name (a built-in profile's or the mapping's), for logs.
    pub name: String,
    /// How frames are cut.
    pub framing: Framing,
    /// Largest frame body kept, in bytes.
    pub max_frame: usize,
    /// The checksum of every frame, both ways, if any.
    pub checksum: Option<Checksum>,
    /// Received messages, first match wins.
    pub rules: Vec<Rule>,
    /// Commands that can be sent, by name.
    pub commands: Vec<CommandTemplate>,
    /// Link supervision, if any.
    pub supervision: Option<Supervision>,
}

/// Why a command cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No command of that name.
    #[error("no command {0:?}")]
    Unknown(String),
    /// A parameter is missing or does not fit.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The message does not fit the framing.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl LineProtocol {
    /// Checks framing, checksum and that the supervision command exists.
    pub fn check(&self) -> Result<(), SpecError> {
        self.framing.check(self.max_frame)?;
        if let Some(checksum) = &self.checksum {
            checksum.check()?;
        }
        let missing = self
            .supervision
            .as_ref()
            .and_then(|s| s.command.as_ref())
            .filter(|name| self.command(name).is_none());
        if let Some(name) = missing {
            return Err(SpecError::UnknownCommand(name.clone()));
        }
        Ok(())
    }

    /// The command called `name`.
    pub fn command(&self, name: &str) -> Option<&CommandTemplate> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// The bytes to write for command `name` with `params`.
    pub fn render(&self, name: &str, params: &Params) -> Result<Vec<u8>, CommandError> {
        let command = self
            .command(name)
            .ok_or_else(|| CommandError::Unknown(name.to_owned()))?;
        let message = command.message(params)?;
        Ok(encode(
            &self.framing,
            self.checksum.as_ref(),
            &message,
            self.max_frame,
        )?)
    }
}
