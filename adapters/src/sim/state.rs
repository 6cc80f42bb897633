//! What the simulated panel holds and how it behaves: both units' tables, the I/O module's
//! relay feedback, the alarm panel's partitions and commands, and the optional animation.
//!
//! Pure logic over an explicit clock (`now`), so it is tested without a network or real time.
//!
//! Alarm panel rules (unit 2):
//! - Zones 1–8 belong to partition 1, zones 9–16 to partition 2; zone 1 and zone 9 are the
//!   entry/exit zones of their partition.
//! - Arming (commands 1, 2, 4) a disarmed partition starts the exit delay; when it ends the
//!   partition is armed away (or stay). Arming a partition that is not disarmed does nothing.
//! - Armed away: the entry zone opening starts the entry delay (then alarm unless disarmed);
//!   any other zone of the partition opening is an alarm at once. Armed stay: only the entry
//!   zone is watched (with its delay).
//! - Alarm: the partition's state is 5, the zone's alarm bit is set (latched), the siren coil
//!   turns on. Disarming clears the partition and turns the siren off (unless the other
//!   partition is still in alarm); `16 + N` clears zone N's alarm bit.
//! - Unknown command values are refused with IllegalDataValue and change nothing.

use std::f64::consts::TAU;
use std::time::Duration;

use tokio::time::Instant;
use tokio_modbus::ExceptionCode;

use crate::modbus::Table;

use super::layout::{io, panel};
use super::memory::{Banks, Unit};

/// How long "a few seconds" of exit and entry delay are by default.
pub(crate) const DEFAULT_DELAY: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, Default)]
struct Partition {
    /// When the current delay (exit or entry) ends.
    deadline: Option<Instant>,
    /// The armed state the exit delay leads to.
    arming_to: u16,
    /// The zone (0-based) whose opening started the entry delay.
    entry_zone: u8,
}

/// Both units and the panel's timers.
#[derive(Debug)]
pub(crate) struct SimState {
    io: Unit,
    panel: Unit,
    /// Extra plain units for benchmarks and load tests (no logic).
    scratch: Vec<(u8, Unit)>,
    partitions: [Partition; 2],
    pub(crate) exit_delay: Duration,
    pub(crate) entry_delay: Duration,
    pub(crate) mask_write: bool,
    animate: bool,
    started: Instant,
}

impl SimState {
    pub(crate) fn new(animate: bool, now: Instant) -> SimState {
        let mut io_unit = Unit {
            coils: Banks::none().with(0, io::COILS),
            discrete_inputs: Banks::none().with(0, io::DISCRETE_INPUTS),
            holding: Banks::none(),
            input: Banks::none().with(0, 2),
        };
        io_unit.input.set(io::TEMPERATURE, 225); // 22.5 °C
        io_unit.input.set(io::SUPPLY_MV, 24_000);
        let mut panel_unit = Unit {
            coils: Banks::none().with(0, 4),
            discrete_inputs: Banks::none(),
            holding: Banks::none().with(panel::COMMAND, 1).with(panel::PGM, 1),
            // 0–22 with 2–9 and 12–19 reserved (read as 0), so one request reads the lot.
            input: Banks::none().with(0, 23),
        };
        panel_unit.input.set(panel::BATTERY_PERCENT, 100);
        panel_unit.input.set(panel::ENCLOSURE_TEMPERATURE, 235); // 23.5 °C
        SimState {
            io: io_unit,
            panel: panel_unit,
            scratch: Vec::new(),
            partitions: [Partition::default(); 2],
            exit_delay: DEFAULT_DELAY,
            entry_delay: DEFAULT_DELAY,
            mask_write: true,
            animate,
            started: now,
        }
    }

    fn unit(&self, unit: u8) -> Option<&Unit> {
        match unit {
            io::UNIT => Some(&self.io),
            panel::UNIT => Some(&self.panel),
            _ => self
                .scratch
                .iter()
                .find(|(id, _)| *id == unit)
                .map(|(_, u)| u),
        }
    }

    fn unit_mut(&mut self, unit: u8) -> Option<&mut Unit> {
        match unit {
            io::UNIT => Some(&mut self.io),
            panel::UNIT => Some(&mut self.panel),
            _ => self
                .scratch
                .iter_mut()
                .find(|(id, _)| *id == unit)
                .map(|(_, u)| u),
        }
    }

    /// Adds a plain unit with `size` addresses in each table (all 0), unless `unit` exists.
    pub(crate) fn add_scratch_unit(&mut self, unit: u8, size: u16) -> bool {
        if self.has_unit(unit) {
            return false;
        }
        self.scratch.push((
            unit,
            Unit {
                coils: Banks::none().with(0, size),
                discrete_inputs: Banks::none().with(0, size),
                holding: Banks::none().with(0, size),
                input: Banks::none().with(0, size),
            },
        ));
        true
    }

    /// Whether `unit` exists.
    pub(crate) fn has_unit(&self, unit: u8) -> bool {
        self.unit(unit).is_some()
    }

    /// Whether `unit` has `count` addresses of `table` from `address`.
    pub(crate) fn has(&self, unit: u8, table: Table, address: u16, count: u16) -> bool {
        self.unit(unit)
            .is_some_and(|u| u.has(table, address, count))
    }

    /// Reads bits (coils or discrete inputs).
    pub(crate) fn read_bits(
        &self,
        unit: u8,
        table: Table,
        address: u16,
        count: u16,
    ) -> Result<Vec<bool>, ExceptionCode> {
        let u = self.unit(unit).ok_or(ExceptionCode::GatewayTargetDevice)?;
        let bits = match table {
            Table::Coil => &u.coils,
            Table::DiscreteInput => &u.discrete_inputs,
            Table::Holding | Table::Input => return Err(ExceptionCode::IllegalFunction),
        };
        bits.read(address, count)
            .ok_or(ExceptionCode::IllegalDataAddress)
    }

    /// Reads registers (holding or input).
    pub(crate) fn read_registers(
        &self,
        unit: u8,
        table: Table,
        address: u16,
        count: u16,
    ) -> Result<Vec<u16>, ExceptionCode> {
        let u = self.unit(unit).ok_or(ExceptionCode::GatewayTargetDevice)?;
        let words = match table {
            Table::Holding => &u.holding,
            Table::Input => &u.input,
            Table::Coil | Table::DiscreteInput => return Err(ExceptionCode::IllegalFunction),
        };
        words
            .read(address, count)
            .ok_or(ExceptionCode::IllegalDataAddress)
    }

    /// Writes coils, with the unit's side effects (unit 1: relay feedback on DI 8–15).
    pub(crate) fn write_coils(
        &mut self,
        unit: u8,
        address: u16,
        values: &[bool],
    ) -> Result<(), ExceptionCode> {
        let u = self
            .unit_mut(unit)
            .ok_or(ExceptionCode::GatewayTargetDevice)?;
        if !u.coils.write(address, values) {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        if unit == io::UNIT {
            u.discrete_inputs
                .write(io::FEEDBACK_FIRST_INPUT + address, values);
        }
        Ok(())
    }

    /// Writes holding registers, with the panel's command and PGM rules.
    pub(crate) fn write_holding(
        &mut self,
        unit: u8,
        address: u16,
        values: &[u16],
        now: Instant,
    ) -> Result<(), ExceptionCode> {
        let count = u16::try_from(values.len()).map_err(|_| ExceptionCode::IllegalDataValue)?;
        if !self
            .unit(unit)
            .ok_or(ExceptionCode::GatewayTargetDevice)?
            .holding
            .contains(address, count)
        {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        if unit == panel::UNIT {
            for (i, &value) in values.iter().enumerate() {
                let at = usize::from(address) + i;
                if at == usize::from(panel::PGM) && value & 0xFF00 != 0 {
                    return Err(ExceptionCode::IllegalDataValue);
                }
                if at == usize::from(panel::COMMAND) && !is_command(value) {
                    return Err(ExceptionCode::IllegalDataValue);
                }
            }
        }
        let u = self
            .unit_mut(unit)
            .ok_or(ExceptionCode::GatewayTargetDevice)?;
        u.holding.write(address, values);
        if unit == panel::UNIT
            && let Some(cmd) = self.panel.holding.get(panel::COMMAND).filter(|&c| c != 0)
        {
            self.command(cmd, now);
            self.panel.holding.set(panel::COMMAND, 0);
        }
        Ok(())
    }

    /// FC22: `(current & and) | (or & !and)`.
    pub(crate) fn mask_write(
        &mut self,
        unit: u8,
        address: u16,
        and: u16,
        or: u16,
        now: Instant,
    ) -> Result<(), ExceptionCode> {
        if !self.mask_write {
            return Err(ExceptionCode::IllegalFunction);
        }
        let current = self
            .unit(unit)
            .ok_or(ExceptionCode::GatewayTargetDevice)?
            .holding
            .get(address)
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        self.write_holding(unit, address, &[(current & and) | (or & !and)], now)
    }

    /// Sets a discrete input directly (a field contact changing).
    pub(crate) fn set_discrete_input(&mut self, unit: u8, address: u16, on: bool) -> bool {
        self.unit_mut(unit)
            .is_some_and(|u| u.discrete_inputs.set(address, on))
    }

    /// Sets an input register directly (a measurement or status changing).
    pub(crate) fn set_input_register(&mut self, unit: u8, address: u16, value: u16) -> bool {
        self.unit_mut(unit)
            .is_some_and(|u| u.input.set(address, value))
    }

    fn command(&mut self, cmd: u16, now: Instant) {
        use panel::command::*;
        use panel::state::*;
        match cmd {
            ARM_AWAY_P1 => self.arm(0, ARMED_AWAY, now),
            ARM_STAY_P1 => self.arm(0, ARMED_STAY, now),
            DISARM_P1 => self.disarm(0),
            ARM_AWAY_P2 => self.arm(1, ARMED_AWAY, now),
            DISARM_P2 => self.disarm(1),
            n if (RESET_ZONE_BASE + 1..=RESET_ZONE_BASE + 16).contains(&n) => {
                let bit = 1u16 << (n - RESET_ZONE_BASE - 1);
                let alarms = self.panel_input(panel::ZONE_ALARM);
                self.panel.input.set(panel::ZONE_ALARM, alarms & !bit);
            }
            _ => {}
        }
    }

    fn state_register(partition: usize) -> u16 {
        if partition == 0 {
            panel::PARTITION_1
        } else {
            panel::PARTITION_2
        }
    }

    fn panel_input(&self, address: u16) -> u16 {
        self.panel.input.get(address).unwrap_or(0)
    }

    fn partition_state(&self, partition: usize) -> u16 {
        self.panel_input(Self::state_register(partition))
    }

    fn set_partition_state(&mut self, partition: usize, state: u16) {
        self.panel.input.set(Self::state_register(partition), state);
    }

    fn arm(&mut self, partition: usize, to: u16, now: Instant) {
        if self.partition_state(partition) != panel::state::DISARMED {
            return;
        }
        if let Some(p) = self.partitions.get_mut(partition) {
            p.deadline = Some(now + self.exit_delay);
            p.arming_to = to;
        }
        self.set_partition_state(partition, panel::state::EXIT_DELAY);
    }

    fn disarm(&mut self, partition: usize) {
        if let Some(p) = self.partitions.get_mut(partition) {
            p.deadline = None;
        }
        self.set_partition_state(partition, panel::state::DISARMED);
        let other = 1 - partition.min(1);
        if self.partition_state(other) != panel::state::ALARM {
            self.panel.coils.set(panel::SIREN, false);
        }
    }

    fn alarm(&mut self, partition: usize, zone: u8) {
        if let Some(p) = self.partitions.get_mut(partition) {
            p.deadline = None;
        }
        self.set_partition_state(partition, panel::state::ALARM);
        let alarms = self.panel_input(panel::ZONE_ALARM);
        self.panel
            .input
            .set(panel::ZONE_ALARM, alarms | (1 << (zone & 15)));
        self.panel.coils.set(panel::SIREN, true);
    }

    /// Advances timers, watches zones, and animates inputs (when on).
    pub(crate) fn tick(&mut self, now: Instant) {
        if self.animate {
            self.animate(now);
        }
        use panel::state::*;
        for partition in 0..2 {
            let first_zone = (partition * 8) as u8;
            let entry_zone = first_zone;
            let zones_open = self.panel_input(panel::ZONE_OPEN);
            let open = |zone: u8| zones_open & (1 << zone) != 0;
            let p = self.partitions[partition];
            match self.partition_state(partition) {
                EXIT_DELAY if p.deadline.is_some_and(|d| now >= d) => {
                    self.partitions[partition].deadline = None;
                    self.set_partition_state(partition, p.arming_to);
                }
                state @ (ARMED_AWAY | ARMED_STAY) => {
                    if open(entry_zone) {
                        self.partitions[partition].deadline = Some(now + self.entry_delay);
                        self.partitions[partition].entry_zone = entry_zone;
                        self.set_partition_state(partition, ENTRY_DELAY);
                    } else if state == ARMED_AWAY
                        && let Some(zone) = (first_zone + 1..first_zone + 8).find(|&z| open(z))
                    {
                        self.alarm(partition, zone);
                    }
                }
                ENTRY_DELAY if p.deadline.is_some_and(|d| now >= d) => {
                    self.alarm(partition, p.entry_zone);
                }
                _ => {}
            }
        }
    }

    /// Inputs that change over time (see the `sim` module doc).
    fn animate(&mut self, now: Instant) {
        let t = now.saturating_duration_since(self.started).as_secs_f64();
        let secs = now.saturating_duration_since(self.started).as_secs();
        self.io.discrete_inputs.set(0, (secs / 5) % 2 == 1);
        self.io.discrete_inputs.set(1, (secs / 13) % 2 == 1);
        // 20.0–25.0 °C over two minutes, in 0.1 °C.
        let temperature = 225.0 + 25.0 * (TAU * t / 120.0).sin();
        self.io
            .input
            .set(io::TEMPERATURE, temperature.round() as i16 as u16);
        let supply = 24_000.0 + 40.0 * (TAU * t / 17.0).sin();
        self.io.input.set(io::SUPPLY_MV, supply.round() as u16);

        let zones = self.panel_input(panel::ZONE_OPEN);
        let zone1 = if (secs / 7) % 2 == 1 { 1 } else { 0 };
        self.panel.input.set(panel::ZONE_OPEN, (zones & !1) | zone1);
        // 100 → 95 → 100 % over ten minutes.
        let phase = (t % 600.0) / 600.0;
        let battery = 100.0 - 5.0 * (1.0 - (2.0 * phase - 1.0).abs());
        self.panel
            .input
            .set(panel::BATTERY_PERCENT, battery.round() as u16);
        let enclosure = 230.0 + 10.0 * (TAU * t / 300.0).sin();
        self.panel.input.set(
            panel::ENCLOSURE_TEMPERATURE,
            enclosure.round() as i16 as u16,
        );
    }

    /// One coil.
    pub(crate) fn coil(&self, unit: u8, address: u16) -> Option<bool> {
        self.unit(unit)?.coils.get(address)
    }

    /// One discrete input.
    pub(crate) fn discrete_input(&self, unit: u8, address: u16) -> Option<bool> {
        self.unit(unit)?.discrete_inputs.get(address)
    }

    /// One input register.
    pub(crate) fn input_register(&self, unit: u8, address: u16) -> Option<u16> {
        self.unit(unit)?.input.get(address)
    }

    /// One holding register.
    pub(crate) fn holding(&self, unit: u8, address: u16) -> Option<u16> {
        self.unit(unit)?.holding.get(address)
    }
}

fn is_command(value: u16) -> bool {
    use panel::command::*;
    value <= DISARM_P2 || (RESET_ZONE_BASE + 1..=RESET_ZONE_BASE + 16).contains(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use panel::state::*;

    fn panel_state() -> (SimState, Instant) {
        let now = Instant::now();
        let mut s = SimState::new(false, now);
        s.exit_delay = Duration::from_secs(3);
        s.entry_delay = Duration::from_secs(2);
        (s, now)
    }

    fn p1(s: &SimState) -> u16 {
        s.input_register(panel::UNIT, panel::PARTITION_1).unwrap()
    }

    fn command(s: &mut SimState, cmd: u16, now: Instant) {
        s.write_holding(panel::UNIT, panel::COMMAND, &[cmd], now)
            .unwrap();
        assert_eq!(
            s.holding(panel::UNIT, panel::COMMAND),
            Some(0),
            "the command register returns to 0"
        );
    }

    #[test]
    fn io_coils_loop_back_to_discrete_inputs() {
        let (mut s, _) = panel_state();
        s.write_coils(io::UNIT, 2, &[true]).unwrap();
        assert_eq!(s.coil(io::UNIT, 2), Some(true));
        assert_eq!(s.discrete_input(io::UNIT, 10), Some(true));
        s.write_coils(
            io::UNIT,
            0,
            &[true, false, true, true, false, false, false, true],
        )
        .unwrap();
        let di = s.read_bits(io::UNIT, Table::DiscreteInput, 8, 8).unwrap();
        assert_eq!(di, vec![true, false, true, true, false, false, false, true]);
        assert_eq!(
            s.write_coils(io::UNIT, 8, &[true]),
            Err(ExceptionCode::IllegalDataAddress)
        );
    }

    #[test]
    fn unknown_units_and_addresses_are_exceptions() {
        let (s, _) = panel_state();
        assert_eq!(
            s.read_registers(9, Table::Input, 0, 1),
            Err(ExceptionCode::GatewayTargetDevice)
        );
        assert_eq!(
            s.read_registers(io::UNIT, Table::Input, 2, 1),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            s.read_registers(io::UNIT, Table::Holding, 0, 1),
            Err(ExceptionCode::IllegalDataAddress)
        );
        // The panel's reserved input registers read as 0, so the whole map is one read.
        assert_eq!(
            s.read_registers(panel::UNIT, Table::Input, 0, 23)
                .map(|v| v.len()),
            Ok(23)
        );
        assert_eq!(
            s.read_registers(panel::UNIT, Table::Holding, 100, 2),
            Err(ExceptionCode::IllegalDataAddress)
        );
    }

    #[test]
    fn arming_runs_the_exit_delay_then_arms() {
        let (mut s, t0) = panel_state();
        command(&mut s, panel::command::ARM_AWAY_P1, t0);
        assert_eq!(p1(&s), EXIT_DELAY);
        s.tick(t0 + Duration::from_secs(2));
        assert_eq!(p1(&s), EXIT_DELAY);
        s.tick(t0 + Duration::from_secs(3));
        assert_eq!(p1(&s), ARMED_AWAY);
    }

    #[test]
    fn an_open_entry_zone_leads_to_alarm_unless_disarmed() {
        let (mut s, t0) = panel_state();
        command(&mut s, panel::command::ARM_AWAY_P1, t0);
        s.tick(t0 + Duration::from_secs(3));
        s.set_input_register(panel::UNIT, panel::ZONE_OPEN, 0b1);
        let t1 = t0 + Duration::from_secs(4);
        s.tick(t1);
        assert_eq!(p1(&s), ENTRY_DELAY);
        assert_eq!(s.coil(panel::UNIT, panel::SIREN), Some(false));
        s.tick(t1 + Duration::from_secs(2));
        assert_eq!(p1(&s), ALARM);
        assert_eq!(s.coil(panel::UNIT, panel::SIREN), Some(true));
        assert_eq!(s.input_register(panel::UNIT, panel::ZONE_ALARM), Some(0b1));

        command(
            &mut s,
            panel::command::DISARM_P1,
            t1 + Duration::from_secs(3),
        );
        assert_eq!(p1(&s), DISARMED);
        assert_eq!(s.coil(panel::UNIT, panel::SIREN), Some(false));
        assert_eq!(
            s.input_register(panel::UNIT, panel::ZONE_ALARM),
            Some(0b1),
            "alarm bits latch until reset"
        );
        command(&mut s, panel::command::RESET_ZONE_BASE + 1, t1);
        assert_eq!(s.input_register(panel::UNIT, panel::ZONE_ALARM), Some(0));
    }

    #[test]
    fn disarming_during_entry_delay_prevents_the_alarm() {
        let (mut s, t0) = panel_state();
        command(&mut s, panel::command::ARM_STAY_P1, t0);
        s.tick(t0 + Duration::from_secs(3));
        assert_eq!(p1(&s), ARMED_STAY);
        s.set_input_register(panel::UNIT, panel::ZONE_OPEN, 0b1);
        s.tick(t0 + Duration::from_secs(4));
        command(
            &mut s,
            panel::command::DISARM_P1,
            t0 + Duration::from_secs(5),
        );
        s.tick(t0 + Duration::from_secs(10));
        assert_eq!(p1(&s), DISARMED);
        assert_eq!(s.coil(panel::UNIT, panel::SIREN), Some(false));
    }

    #[test]
    fn an_interior_zone_alarms_at_once_when_armed_away_only() {
        let (mut s, t0) = panel_state();
        command(&mut s, panel::command::ARM_STAY_P1, t0);
        s.tick(t0 + Duration::from_secs(3));
        s.set_input_register(panel::UNIT, panel::ZONE_OPEN, 0b100);
        s.tick(t0 + Duration::from_secs(4));
        assert_eq!(p1(&s), ARMED_STAY, "stay ignores interior zones");
        command(&mut s, panel::command::DISARM_P1, t0);
        command(&mut s, panel::command::ARM_AWAY_P1, t0);
        s.set_input_register(panel::UNIT, panel::ZONE_OPEN, 0);
        s.tick(t0 + Duration::from_secs(3));
        s.set_input_register(panel::UNIT, panel::ZONE_OPEN, 0b100);
        s.tick(t0 + Duration::from_secs(4));
        assert_eq!(p1(&s), ALARM);
        assert_eq!(
            s.input_register(panel::UNIT, panel::ZONE_ALARM),
            Some(0b100)
        );
    }

    #[test]
    fn partition_2_is_independent() {
        let (mut s, t0) = panel_state();
        command(&mut s, panel::command::ARM_AWAY_P2, t0);
        s.tick(t0 + Duration::from_secs(3));
        assert_eq!(
            s.input_register(panel::UNIT, panel::PARTITION_2),
            Some(ARMED_AWAY)
        );
        assert_eq!(p1(&s), DISARMED);
        s.set_input_register(panel::UNIT, panel::ZONE_OPEN, 1 << 8); // zone 9: P2's entry zone
        s.tick(t0 + Duration::from_secs(4));
        assert_eq!(
            s.input_register(panel::UNIT, panel::PARTITION_2),
            Some(ENTRY_DELAY)
        );
        command(
            &mut s,
            panel::command::DISARM_P2,
            t0 + Duration::from_secs(5),
        );
        assert_eq!(
            s.input_register(panel::UNIT, panel::PARTITION_2),
            Some(DISARMED)
        );
    }

    #[test]
    fn bad_commands_and_pgm_values_are_refused() {
        let (mut s, t0) = panel_state();
        assert_eq!(
            s.write_holding(panel::UNIT, panel::COMMAND, &[6], t0),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(
            s.write_holding(panel::UNIT, panel::COMMAND, &[33], t0),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(
            s.write_holding(panel::UNIT, panel::PGM, &[0x0100], t0),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(s.holding(panel::UNIT, panel::PGM), Some(0));
    }

    #[test]
    fn mask_write_changes_only_the_masked_bits_and_can_be_switched_off() {
        let (mut s, t0) = panel_state();
        s.write_holding(panel::UNIT, panel::PGM, &[0b1010], t0)
            .unwrap();
        s.mask_write(panel::UNIT, panel::PGM, !0b1, 0b1, t0)
            .unwrap();
        assert_eq!(s.holding(panel::UNIT, panel::PGM), Some(0b1011));
        s.mask_write(panel::UNIT, panel::PGM, !0b10, 0, t0).unwrap();
        assert_eq!(s.holding(panel::UNIT, panel::PGM), Some(0b1001));
        s.mask_write = false;
        assert_eq!(
            s.mask_write(panel::UNIT, panel::PGM, !0b1, 0, t0),
            Err(ExceptionCode::IllegalFunction)
        );
    }

    #[test]
    fn animation_moves_inputs_within_their_ranges() {
        let t0 = Instant::now();
        let mut s = SimState::new(true, t0);
        let mut seen_di0 = std::collections::HashSet::new();
        let mut seen_zone1 = std::collections::HashSet::new();
        for second in 0..=600u64 {
            s.tick(t0 + Duration::from_secs(second));
            seen_di0.insert(s.discrete_input(io::UNIT, 0).unwrap());
            seen_zone1.insert(s.input_register(panel::UNIT, panel::ZONE_OPEN).unwrap() & 1);
            let temp = s.input_register(io::UNIT, io::TEMPERATURE).unwrap() as i16;
            assert!((200..=250).contains(&temp), "{temp}");
            let battery = s
                .input_register(panel::UNIT, panel::BATTERY_PERCENT)
                .unwrap();
            assert!((95..=100).contains(&battery), "{battery}");
        }
        assert_eq!(seen_di0.len(), 2);
        assert_eq!(seen_zone1.len(), 2);
        assert_eq!(
            s.input_register(panel::UNIT, panel::BATTERY_PERCENT),
            Some(100)
        );
    }
}
