//! The simulated panel's register map: unit ids and wire addresses (0-based).
//!
//! The mapping profiles `generic-io-16di-8do` and `generic-alarm-panel` are written against
//! exactly these numbers; change them together.

/// Unit 1: a generic I/O module, 16 discrete inputs and 8 relay outputs.
pub mod io {
    /// Its unit id.
    pub const UNIT: u8 = 1;
    /// Discrete inputs 0–15; 8–15 mirror coils 0–7 (relay feedback).
    pub const DISCRETE_INPUTS: u16 = 16;
    /// The first discrete input that mirrors coil 0.
    pub const FEEDBACK_FIRST_INPUT: u16 = 8;
    /// Coils 0–7, the relay outputs.
    pub const COILS: u16 = 8;
    /// Input register: module temperature, i16, 0.1 °C.
    pub const TEMPERATURE: u16 = 0;
    /// Input register: supply voltage, u16, mV (about 24000).
    pub const SUPPLY_MV: u16 = 1;
}

/// Unit 2: a generic intrusion alarm panel with 16 zones and 2 partitions.
pub mod panel {
    /// Its unit id.
    pub const UNIT: u8 = 2;
    /// Input register: zone open bits, bit 0 = zone 1 … bit 15 = zone 16.
    pub const ZONE_OPEN: u16 = 0;
    /// Input register: zone alarm bits (latched until reset), same bit order.
    pub const ZONE_ALARM: u16 = 1;
    /// Input register: partition 1 state (see [`state`]).
    pub const PARTITION_1: u16 = 10;
    /// Input register: partition 2 state (see [`state`]).
    pub const PARTITION_2: u16 = 11;
    /// Input register: battery capacity, %.
    pub const BATTERY_PERCENT: u16 = 20;
    /// Input register: enclosure temperature, i16, 0.1 °C.
    pub const ENCLOSURE_TEMPERATURE: u16 = 21;
    /// Input register: trouble bits (see [`trouble`]).
    pub const TROUBLE: u16 = 22;
    /// Holding register: command (see [`command`]); the panel acts and sets it back to 0.
    pub const COMMAND: u16 = 100;
    /// Holding register: programmable outputs PGM1–PGM8 in bits 0–7 (bits 8–15 must stay 0).
    pub const PGM: u16 = 200;
    /// Coil: siren.
    pub const SIREN: u16 = 0;
    /// Coil: strobe.
    pub const STROBE: u16 = 1;
    /// Coil: auxiliary output 1.
    pub const AUX1: u16 = 2;
    /// Coil: auxiliary output 2.
    pub const AUX2: u16 = 3;

    /// Partition states.
    pub mod state {
        /// Disarmed.
        pub const DISARMED: u16 = 0;
        /// Armed, exit delay running.
        pub const EXIT_DELAY: u16 = 1;
        /// Armed away (every zone of the partition is watched).
        pub const ARMED_AWAY: u16 = 2;
        /// Armed stay (only the entry zone is watched).
        pub const ARMED_STAY: u16 = 3;
        /// An entry zone opened: disarm before the delay ends.
        pub const ENTRY_DELAY: u16 = 4;
        /// In alarm (siren on).
        pub const ALARM: u16 = 5;
    }

    /// Trouble bits of [`TROUBLE`].
    pub mod trouble {
        /// Bit 0: AC power failure.
        pub const AC_POWER_FAILURE: u16 = 1 << 0;
        /// Bit 1: low battery.
        pub const LOW_BATTERY: u16 = 1 << 1;
        /// Bit 2: enclosure tamper.
        pub const ENCLOSURE_TAMPER: u16 = 1 << 2;
        /// Bit 3: communication fault.
        pub const COMMUNICATION_FAULT: u16 = 1 << 3;
    }

    /// Values of the command register.
    pub mod command {
        /// Arm partition 1 away.
        pub const ARM_AWAY_P1: u16 = 1;
        /// Arm partition 1 stay.
        pub const ARM_STAY_P1: u16 = 2;
        /// Disarm partition 1.
        pub const DISARM_P1: u16 = 3;
        /// Arm partition 2 away.
        pub const ARM_AWAY_P2: u16 = 4;
        /// Disarm partition 2.
        pub const DISARM_P2: u16 = 5;
        /// `RESET_ZONE_BASE + N` resets zone N's alarm bit (N = 1–16).
        pub const RESET_ZONE_BASE: u16 = 16;
    }
}
