//! Relay, digital-input and serial-port settings that clients change at run time
//! (SetRelayOutputSettings, SetDigitalInputConfigurations, SetSerialPortConfiguration), persisted in the state database so they survive restarts.
//!
//! Each stored override remembers the mapping's setting it replaced. When the integrator
//! later changes that setting in the mapping, the mapping wins and the stale override is
//! dropped: the file an integrator edits is never silently ignored.

use std::time::Duration;

use railgate_adapters::modbus::Parity;
use railgate_adapters::serial::LineSettings;
use railgate_mappings::plan::{IdleState, RelayMode};
use serde::{Deserialize, Serialize};

use crate::state::{StateDb, StateError};

/// A relay's settings (tt:RelayOutputSettings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySettings {
    /// Monostable or bistable.
    #[serde(with = "mode")]
    pub mode: RelayMode,
    /// Monostable hold time, in milliseconds.
    pub delay_ms: u64,
    /// Electrical state when inactive.
    #[serde(with = "idle")]
    pub idle: IdleState,
}

impl RelaySettings {
    /// The hold time.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    /// What the mapping said when the override was made.
    mapped: T,
    /// What the client set.
    set: T,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InputSettings {
    #[serde(with = "idle")]
    idle: IdleState,
}

fn relay_key(token: &str) -> String {
    format!("deviceio.relay.{token}")
}

fn input_key(token: &str) -> String {
    format!("deviceio.input.{token}")
}

/// The settings in force for a relay: the stored override if the mapping has not changed
/// since it was made, else the mapping's.
pub fn relay(db: &StateDb, token: &str, mapped: RelaySettings) -> RelaySettings {
    load(db, &relay_key(token), mapped)
}

/// Stores a client's relay settings.
pub fn store_relay(
    db: &StateDb,
    token: &str,
    mapped: RelaySettings,
    set: RelaySettings,
) -> Result<(), StateError> {
    save(db, &relay_key(token), mapped, set)
}

/// The idle state in force for a digital input.
pub fn input_idle(db: &StateDb, token: &str, mapped: IdleState) -> IdleState {
    load(db, &input_key(token), InputSettings { idle: mapped }).idle
}

/// Stores a client's digital-input idle state.
pub fn store_input_idle(
    db: &StateDb,
    token: &str,
    mapped: IdleState,
    set: IdleState,
) -> Result<(), StateError> {
    save(
        db,
        &input_key(token),
        InputSettings { idle: mapped },
        InputSettings { idle: set },
    )
}

/// A serial port's line settings as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SerialSettings {
    baud: u32,
    #[serde(with = "parity")]
    parity: Parity,
    data_bits: u8,
    stop_bits: u8,
}

impl From<LineSettings> for SerialSettings {
    fn from(l: LineSettings) -> Self {
        SerialSettings {
            baud: l.baud,
            parity: l.parity,
            data_bits: l.data_bits,
            stop_bits: l.stop_bits,
        }
    }
}

impl From<SerialSettings> for LineSettings {
    fn from(s: SerialSettings) -> Self {
        LineSettings {
            baud: s.baud,
            parity: s.parity,
            data_bits: s.data_bits,
            stop_bits: s.stop_bits,
        }
    }
}

fn serial_key(token: &str) -> String {
    format!("deviceio.serial.{token}")
}

/// The line settings in force for a serial port.
pub fn serial_line(db: &StateDb, token: &str, mapped: LineSettings) -> LineSettings {
    load(db, &serial_key(token), SerialSettings::from(mapped)).into()
}

/// Stores a client's serial line settings.
pub fn store_serial_line(
    db: &StateDb,
    token: &str,
    mapped: LineSettings,
    set: LineSettings,
) -> Result<(), StateError> {
    save(
        db,
        &serial_key(token),
        SerialSettings::from(mapped),
        SerialSettings::from(set),
    )
}

fn load<T>(db: &StateDb, key: &str, mapped: T) -> T
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + Copy + std::fmt::Debug,
{
    let stored = match db.setting(key) {
        Ok(Some(text)) => text,
        Ok(None) => return mapped,
        Err(e) => {
            tracing::warn!(error = %e, key, "cannot read a stored setting; using the mapping's");
            return mapped;
        }
    };
    match serde_json::from_str::<Stored<T>>(&stored) {
        Ok(s) if s.mapped == mapped => s.set,
        Ok(s) => {
            tracing::info!(key, mapping = ?mapped, client = ?s.set, "the mapping changed since a client changed this setting: the mapping's setting is used");
            mapped
        }
        Err(e) => {
            tracing::warn!(error = %e, key, "a stored setting is unreadable; using the mapping's");
            mapped
        }
    }
}

fn save<T: Serialize>(db: &StateDb, key: &str, mapped: T, set: T) -> Result<(), StateError> {
    let text = serde_json::to_string(&Stored { mapped, set })
        .map_err(|e| StateError::Corrupt(e.to_string()))?;
    db.set_setting(key, &text)
}

mod mode {
    use railgate_mappings::plan::RelayMode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(m: &RelayMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match m {
            RelayMode::Monostable => "Monostable",
            RelayMode::Bistable => "Bistable",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RelayMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "Monostable" => Ok(RelayMode::Monostable),
            "Bistable" => Ok(RelayMode::Bistable),
            other => Err(serde::de::Error::custom(format!(
                "unknown relay mode {other}"
            ))),
        }
    }
}

mod parity {
    use railgate_adapters::modbus::Parity;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(p: &Parity, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match p {
            Parity::None => "none",
            Parity::Even => "even",
            Parity::Odd => "odd",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Parity, D::Error> {
        match String::deserialize(d)?.as_str() {
            "none" => Ok(Parity::None),
            "even" => Ok(Parity::Even),
            "odd" => Ok(Parity::Odd),
            other => Err(serde::de::Error::custom(format!("unknown parity {other}"))),
        }
    }
}

mod idle {
    use railgate_mappings::plan::IdleState;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(i: &IdleState, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(i.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IdleState, D::Error> {
        match String::deserialize(d)?.as_str() {
            "open" => Ok(IdleState::Open),
            "closed" => Ok(IdleState::Closed),
            other => Err(serde::de::Error::custom(format!(
                "unknown idle state {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: RelayMode, delay_ms: u64, idle: IdleState) -> RelaySettings {
        RelaySettings {
            mode,
            delay_ms,
            idle,
        }
    }

    #[test]
    fn overrides_survive_reopening_until_the_mapping_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mapped = settings(RelayMode::Bistable, 0, IdleState::Open);
        let set = settings(RelayMode::Monostable, 1500, IdleState::Closed);
        {
            let db = StateDb::open(dir.path()).unwrap();
            assert_eq!(relay(&db, "R1", mapped), mapped);
            store_relay(&db, "R1", mapped, set).unwrap();
            store_input_idle(&db, "I1", IdleState::Open, IdleState::Closed).unwrap();
        }
        let db = StateDb::open(dir.path()).unwrap();
        assert_eq!(relay(&db, "R1", mapped), set);
        assert_eq!(input_idle(&db, "I1", IdleState::Open), IdleState::Closed);
        // The integrator edits the mapping: the file wins.
        let edited = settings(RelayMode::Bistable, 0, IdleState::Closed);
        assert_eq!(relay(&db, "R1", edited), edited);
        assert_eq!(input_idle(&db, "I1", IdleState::Closed), IdleState::Closed);
        // Another token is untouched.
        assert_eq!(relay(&db, "R2", mapped), mapped);
    }

    #[test]
    fn serial_settings_survive_reopening_until_the_mapping_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mapped = LineSettings {
            baud: 9600,
            parity: Parity::None,
            data_bits: 8,
            stop_bits: 1,
        };
        let set = LineSettings {
            baud: 19_200,
            parity: Parity::Even,
            data_bits: 7,
            stop_bits: 2,
        };
        {
            let db = StateDb::open(dir.path()).unwrap();
            assert_eq!(serial_line(&db, "P1", mapped), mapped);
            store_serial_line(&db, "P1", mapped, set).unwrap();
        }
        let db = StateDb::open(dir.path()).unwrap();
        assert_eq!(serial_line(&db, "P1", mapped), set);
        let edited = LineSettings {
            baud: 38_400,
            ..mapped
        };
        assert_eq!(serial_line(&db, "P1", edited), edited);
    }

    #[test]
    fn an_unreadable_override_falls_back_to_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        db.set_setting(&relay_key("R1"), "{not json").unwrap();
        let mapped = settings(RelayMode::Bistable, 0, IdleState::Open);
        assert_eq!(relay(&db, "R1", mapped), mapped);
    }
}
