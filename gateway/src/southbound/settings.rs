//! Relay, digital-input and serial-port settings that clients change at run time
//! (SetRelayOutputSettings, SetDigitalInputConfigurations, SetSerialPortConfiguration), persisted in the state database so they survive restarts.
//!
//! Each stored override remembers the mapping's setting it replaced. When the integrator
//! later changes that setting in the mapping, the mapping wins and the stale override is
//! dropped: the file an integrator edits is never silently ignored.

use std::time::Duration;

use railgate_adapters::modbus::Parity;
use railgate_adapters::serial::LineSettings;
use railgate_mappings::plan::{IdleState, RelayMode, SerialKind, SerialPortPoint};
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

/// A serial port's line settings as stored. `kind` (the tmd:SerialPortType) is stored only
/// for a port with a kernel RS-485 mode, whose type clients may change; other ports' records
/// have none, as before types could change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SerialSettings {
    baud: u32,
    #[serde(with = "parity")]
    parity: Parity,
    data_bits: u8,
    stop_bits: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
}

impl SerialSettings {
    fn new(point: &SerialPortPoint, line: LineSettings, kind: SerialKind) -> Self {
        SerialSettings {
            baud: line.baud,
            parity: line.parity,
            data_bits: line.data_bits,
            stop_bits: line.stop_bits,
            kind: point.rs485.map(|_| kind.as_str().to_string()),
        }
    }
}

fn serial_key(token: &str) -> String {
    format!("deviceio.serial.{token}")
}

/// The line settings and type in force for serial port `point`: a stored override if the
/// mapping has not changed since it was made, else the mapping's. The RS-485 mode follows
/// the type ([`SerialPortPoint::rs485_mode`]).
pub fn serial_config(db: &StateDb, point: &SerialPortPoint) -> (LineSettings, SerialKind) {
    let mapped = SerialSettings::new(point, point.line, point.kind);
    let s = load(db, &serial_key(&point.token), mapped);
    let kind = s
        .kind
        .as_deref()
        .and_then(SerialKind::from_name)
        .unwrap_or(point.kind);
    let Some(rs485) = point.rs485_mode(kind) else {
        return (point.line, point.kind);
    };
    let line = LineSettings {
        baud: s.baud,
        parity: s.parity,
        data_bits: s.data_bits,
        stop_bits: s.stop_bits,
        rs485,
    };
    (line, kind)
}

/// Stores a client's serial line settings and type for `point`.
pub fn store_serial_config(
    db: &StateDb,
    point: &SerialPortPoint,
    line: LineSettings,
    kind: SerialKind,
) -> Result<(), StateError> {
    save(
        db,
        &serial_key(&point.token),
        SerialSettings::new(point, point.line, point.kind),
        SerialSettings::new(point, line, kind),
    )
}

fn load<T>(db: &StateDb, key: &str, mapped: T) -> T
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + Clone + std::fmt::Debug,
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
    use railgate_adapters::serial::{Rs485, Rs485Mode};

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

    fn port(rs485: Option<Rs485>, kind: SerialKind) -> SerialPortPoint {
        let line = LineSettings {
            rs485: if rs485.is_some() {
                Rs485Mode::Off
            } else {
                Rs485Mode::Keep
            },
            ..LineSettings::eight_n_one(9600)
        };
        SerialPortPoint {
            token: "P1".into(),
            device: "/dev/ttyS1".into(),
            line,
            kind,
            rs485,
            access: railgate_mappings::plan::SerialAccess::Raw,
        }
    }

    #[test]
    fn serial_settings_survive_reopening_until_the_mapping_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mapped = port(None, SerialKind::Rs485HalfDuplex);
        let set = LineSettings {
            baud: 19_200,
            parity: Parity::Even,
            data_bits: 7,
            stop_bits: 2,
            rs485: Rs485Mode::Keep,
        };
        {
            let db = StateDb::open(dir.path()).unwrap();
            assert_eq!(serial_config(&db, &mapped), (mapped.line, mapped.kind));
            store_serial_config(&db, &mapped, set, mapped.kind).unwrap();
        }
        let db = StateDb::open(dir.path()).unwrap();
        assert_eq!(serial_config(&db, &mapped), (set, mapped.kind));
        // A record of a port without a kernel mode has no type (as before types could change).
        let text = db.setting(&serial_key("P1")).unwrap().unwrap();
        assert!(!text.contains("kind"), "{text}");
        let mut edited = mapped.clone();
        edited.line.baud = 38_400;
        assert_eq!(serial_config(&db, &edited), (edited.line, edited.kind));
    }

    #[test]
    fn a_kernel_rs485_port_keeps_the_type_a_client_chose_and_its_mode_follows() {
        let dir = tempfile::tempdir().unwrap();
        let r = Rs485 {
            delay_after_send: Duration::from_millis(1),
            ..Rs485::default()
        };
        let mapped = port(Some(r), SerialKind::Rs232);
        let db = StateDb::open(dir.path()).unwrap();
        let full = mapped.rs485_mode(SerialKind::Rs485FullDuplex).unwrap();
        let set = LineSettings {
            rs485: full,
            ..mapped.line
        };
        store_serial_config(&db, &mapped, set, SerialKind::Rs485FullDuplex).unwrap();
        let (line, kind) = serial_config(&db, &mapped);
        assert_eq!(kind, SerialKind::Rs485FullDuplex);
        assert_eq!(
            line.rs485,
            Rs485Mode::On(Rs485 {
                full_duplex: true,
                ..r
            })
        );
        // The integrator takes the kernel mode out of the mapping: the port is its wiring's
        // type again, its mode left alone.
        let plain = port(None, SerialKind::Rs232);
        assert_eq!(serial_config(&db, &plain), (plain.line, SerialKind::Rs232));
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
