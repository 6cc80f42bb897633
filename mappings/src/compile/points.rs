//! Addresses: from what the integrator wrote (table key, address, bit, base, offset) to wire
//! addresses and stable point ids; the per-controller point lists; and who claims which bits.

use std::collections::HashMap;

use railgate_adapters::PointId;
use railgate_adapters::modbus::{ModbusPoint, Table};

use crate::model::PointFields;

use super::report::Here;

/// A resolved point: table, wire (0-based) address, and a bit for register bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Addr {
    /// The table.
    pub table: Table,
    /// The first wire address.
    pub wire: u16,
    /// The bit inside a register.
    pub bit: Option<u8>,
}

impl Addr {
    /// Whether this point is a single bit (coil, discrete input, or register bit).
    pub(crate) fn is_bit(&self) -> bool {
        self.table.is_bits() || self.bit.is_some()
    }
}

/// The YAML key naming a table.
pub(crate) fn table_key(table: Table) -> &'static str {
    match table {
        Table::Coil => "coil",
        Table::DiscreteInput => "discrete_input",
        Table::Holding => "holding_register",
        Table::Input => "input_register",
    }
}

/// A table as words: `coil`, `holding register`.
pub(crate) fn table_words(table: Table) -> &'static str {
    match table {
        Table::Coil => "coil",
        Table::DiscreteInput => "discrete input",
        Table::Holding => "holding register",
        Table::Input => "input register",
    }
}

/// `a coil`, `an input register`.
pub(crate) fn a(words: &str) -> String {
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {words}")
}

/// Why an address could not be resolved.
#[derive(Debug)]
pub(crate) struct AddrError {
    /// Pointer suffix below the item to report at (e.g. `/bit`).
    pub sub: String,
    /// What is wrong.
    pub message: String,
    /// Whether the instance's `address_offset` caused it (then it is the instance's problem).
    pub by_offset: bool,
}

fn err(sub: &str, message: String) -> AddrError {
    AddrError {
        sub: sub.to_string(),
        message,
        by_offset: false,
    }
}

/// Whether the item must name a single bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitRule {
    /// A coil, a discrete input, or a register with `bit`.
    Required,
    /// Registers may be whole (values, commands).
    Optional,
}

/// Resolves the point an item names. `count` is how many registers it spans (2 for 32-bit).
/// Returns the address and the key (`coil`, ...) it was written with.
pub(crate) fn resolve(
    f: &PointFields,
    base: u8,
    offset: i64,
    count: u16,
    rule: BitRule,
) -> Result<(Addr, &'static str), AddrError> {
    let given: Vec<(Table, u64)> = [
        (Table::Coil, f.coil),
        (Table::DiscreteInput, f.discrete_input),
        (Table::Holding, f.holding_register),
        (Table::Input, f.input_register),
    ]
    .into_iter()
    .filter_map(|(t, a)| a.map(|a| (t, a)))
    .collect();
    let (table, address) = match given.as_slice() {
        [] => {
            return Err(err(
                "",
                "no point given: add one of `coil: N`, `discrete_input: N`, `holding_register: N`, `input_register: N`".into(),
            ));
        }
        [one] => *one,
        [first, second, ..] => {
            return Err(err(
                &format!("/{}", table_key(second.0)),
                format!(
                    "give only one point: both `{}` and `{}` are given",
                    table_key(first.0),
                    table_key(second.0)
                ),
            ));
        }
    };
    let key = table_key(table);
    let at = format!("/{key}");
    if table.is_bits() && f.bit.is_some() {
        return Err(err(
            "/bit",
            format!(
                "`bit` picks a bit inside a register; {} is already a single bit",
                a(table_words(table))
            ),
        ));
    }
    if !table.is_bits() && f.bit.is_none() && rule == BitRule::Required {
        return Err(err(
            &at,
            format!(
                "{} has 16 bits: say which one with `bit: 0..15`",
                a(table_words(table))
            ),
        ));
    }
    if f.bit.is_some_and(|b| b > 15) {
        return Err(err("/bit", "a register has bits 0 to 15".into()));
    }
    if address < u64::from(base) {
        return Err(err(
            &at,
            format!(
                "with `address_base: {base}` addresses start at {base}; {address} is not an address (use `address_base: 0` if the manual counts from 0)"
            ),
        ));
    }
    let wire = address - u64::from(base);
    let last = wire.saturating_add(u64::from(count.saturating_sub(1)));
    if last > 65535 {
        let highest = 65535 + u64::from(base);
        let mut message = if count > 1 && wire <= 65535 {
            format!(
                "a {count}-register value at {address} needs addresses {address} to {}; the highest is {highest}",
                address.saturating_add(u64::from(count) - 1)
            )
        } else {
            format!(
                "{address} is beyond the highest Modbus address ({highest} with `address_base: {base}`)"
            )
        };
        if (100_000..=465_536).contains(&address) || (10_001..=99_999).contains(&address) {
            message.push_str(
                "; \"40001\"-style references include the table in the number: write `holding_register: 1` with `address_base: 1` for 40001",
            );
        }
        return Err(err(&at, message));
    }
    let shifted = i64::try_from(wire)
        .unwrap_or(i64::MAX)
        .saturating_add(offset);
    let shifted_last = shifted.saturating_add(i64::from(count.saturating_sub(1)));
    if shifted < 0 || shifted_last > 65535 {
        return Err(AddrError {
            sub: at,
            message: format!(
                "`address_offset: {offset}` moves {} {wire} to {shifted}, outside 0..65535",
                table_words(table)
            ),
            by_offset: true,
        });
    }
    let wire = u16::try_from(shifted).map_err(|_| err(&at, "address out of range".into()))?;
    Ok((
        Addr {
            table,
            wire,
            bit: f.bit,
        },
        key,
    ))
}

/// A warning for an address that looks like Modicon ("40001") notation, where the first digit
/// names the table: 1xxxx discrete inputs, 3xxxx input registers, 4xxxx holding registers,
/// each counting from 1. Coils (0xxxx) look like plain addresses and are never suspected.
/// Returns the key written and the warning.
pub(crate) fn modicon_warning(f: &PointFields, base: u8) -> Option<(&'static str, String)> {
    let given = [
        (Table::DiscreteInput, f.discrete_input),
        (Table::Holding, f.holding_register),
        (Table::Input, f.input_register),
    ];
    let (key_table, address) = given.into_iter().find_map(|(t, a)| a.map(|a| (t, a)))?;
    let (meant, number) = match address / 10_000 {
        1 => (Table::DiscreteInput, address % 10_000),
        3 => (Table::Input, address % 10_000),
        4 => (Table::Holding, address % 10_000),
        _ => return None,
    };
    if number == 0 {
        return None;
    }
    let key = table_key(key_table);
    let message = format!(
        "{address} looks like Modicon notation for {} {number}; write {}: {number} with address_base: 1 (as written, this is {} wire address {})",
        table_words(meant),
        table_key(meant),
        table_words(key_table),
        address.saturating_sub(u64::from(base))
    );
    Some((key, message))
}

/// The stable id of a point: `<controller>/<table>/<wire address>`, with `.<bit>` for a
/// register bit and `-<last>` for a multi-register value (`panel/holding/40.3`,
/// `panel/input/30-31`). Items reading the same point share it, so the adapter reads it once.
pub(crate) fn point_id(controller: &str, addr: Addr, count: u16) -> PointId {
    let mut id = format!("{controller}/{}/{}", addr.table.name(), addr.wire);
    if let Some(bit) = addr.bit {
        id.push_str(&format!(".{bit}"));
    } else if count > 1 {
        id.push_str(&format!("-{}", u32::from(addr.wire) + u32::from(count) - 1));
    }
    PointId(id)
}

/// Every point of every controller, deduplicated by id, in first-use order.
#[derive(Debug, Default)]
pub(crate) struct PointTable {
    per_controller: HashMap<usize, (Vec<ModbusPoint>, HashMap<PointId, usize>)>,
}

impl PointTable {
    /// Registers a point of controller `ctrl` (named `name`) and returns its id. A point is
    /// writable when any item writes it, and polled when any item reads it.
    pub(crate) fn add(
        &mut self,
        ctrl: usize,
        name: &str,
        addr: Addr,
        count: u16,
        kind: ClaimKind,
    ) -> PointId {
        let (writable, polled) = (kind.writes(), kind.reads());
        let id = point_id(name, addr, count);
        let (list, index) = self.per_controller.entry(ctrl).or_default();
        match index.get(&id) {
            Some(&i) => {
                if let Some(p) = list.get_mut(i) {
                    p.writable |= writable;
                    p.polled |= polled;
                }
            }
            None => {
                index.insert(id.clone(), list.len());
                list.push(ModbusPoint {
                    id: id.clone(),
                    table: addr.table,
                    address: addr.wire,
                    count,
                    bit: addr.bit,
                    writable,
                    polled,
                });
            }
        }
        id
    }

    /// Marks point `id` of controller `ctrl` as polled.
    pub(crate) fn poll(&mut self, ctrl: usize, id: &PointId) {
        if let Some((list, index)) = self.per_controller.get_mut(&ctrl)
            && let Some(p) = index.get(id).and_then(|&i| list.get_mut(i))
        {
            p.polled = true;
        }
    }

    /// The points of controller `ctrl`.
    pub(crate) fn take(&mut self, ctrl: usize) -> Vec<ModbusPoint> {
        self.per_controller
            .remove(&ctrl)
            .map(|(list, _)| list)
            .unwrap_or_default()
    }
}

/// What an item does with a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClaimKind {
    /// A digital input reads it.
    Input,
    /// A value reads it.
    Value,
    /// A relay writes it.
    RelayWrite,
    /// A relay reads its state from it.
    ReadBack,
    /// An auxiliary command writes it (and reads it only with `read_back: true`).
    Command,
}

impl ClaimKind {
    /// The item kind in words.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            ClaimKind::Input => "input",
            ClaimKind::Value => "value",
            ClaimKind::RelayWrite => "relay",
            ClaimKind::ReadBack => "read-back of relay",
            ClaimKind::Command => "command",
        }
    }

    /// Whether the item writes the point (so the adapter must be able to).
    pub(crate) fn writes(self) -> bool {
        matches!(self, ClaimKind::RelayWrite | ClaimKind::Command)
    }

    /// Whether the item reads the point, so the adapter polls it. A relay's own point is
    /// read back (its state is shown); a command's is only written (devices often refuse
    /// reads of command registers) unless it says `read_back: true` ([`PointTable::poll`]).
    pub(crate) fn reads(self) -> bool {
        !matches!(self, ClaimKind::Command)
    }
}

/// How much of a point an item uses: `count` registers, a value's bit field (shift, width)
/// and the swaps of its byte order (`(low word first, bytes swapped)`), as [`masks`] takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// Registers (1 for a bit, a coil or a discrete input).
    pub count: u16,
    /// A value's bit field.
    pub field: Option<(u8, u8)>,
    /// Word and byte swaps.
    pub order: (bool, bool),
}

impl Span {
    /// All of one bit or one register: inputs, relays, read-backs, commands.
    pub(crate) const SINGLE: Span = Span {
        count: 1,
        field: None,
        order: (false, false),
    };
}

/// One item's use of the bits of one register (or one coil/discrete input).
#[derive(Clone, Debug)]
pub(crate) struct Claim {
    /// Controller index.
    pub ctrl: usize,
    /// Table.
    pub table: Table,
    /// Wire address.
    pub address: u16,
    /// Which bits (1 for coils and discrete inputs).
    pub mask: u16,
    /// What the item does.
    pub kind: ClaimKind,
    /// The item (one relay's write and read-back share it).
    pub owner: usize,
    /// The item's token or name.
    pub label: String,
    /// Where the item is.
    pub here: Here,
    /// The address key below the item (`/coil`, `/read_back/discrete_input`).
    pub sub: String,
    /// Whether only some bits of the register are read (a register bit or a bit field).
    pub partial: bool,
}

/// The bits of each register an item with `addr` spanning `count` registers uses; `field`
/// is a value's bit field (shift, width) and `order` whether its 32-bit words/bytes are
/// swapped (`(low word first, bytes swapped)`).
pub(crate) fn masks(
    addr: Addr,
    count: u16,
    field: Option<(u8, u8)>,
    order: (bool, bool),
) -> Vec<(u16, u16)> {
    if addr.table.is_bits() {
        return vec![(addr.wire, 1)];
    }
    if let Some(bit) = addr.bit {
        return vec![(addr.wire, 1u16 << (bit & 15))];
    }
    let full: u32 = match field {
        Some((shift, width)) if width < 32 => {
            ((((1u64 << width) - 1) << shift.min(31)) & 0xFFFF_FFFF) as u32
        }
        _ => u32::MAX,
    };
    let swap_bytes = |m: u16| if order.1 { m.rotate_left(8) } else { m };
    if count == 1 {
        return vec![(addr.wire, swap_bytes((full & 0xFFFF) as u16))];
    }
    let high = swap_bytes((full >> 16) as u16);
    let low = swap_bytes((full & 0xFFFF) as u16);
    let (first, second) = if order.0 { (low, high) } else { (high, low) };
    vec![(addr.wire, first), (addr.wire.saturating_add(1), second)]
}

/// A conflict between two claims, described for the later one.
pub(crate) fn conflict(earlier: &Claim, later: &Claim) -> Option<String> {
    use ClaimKind::*;
    if earlier.owner == later.owner || earlier.ctrl != later.ctrl {
        return None;
    }
    let what = |c: &Claim| format!("{} `{}`", c.kind.noun(), c.label);
    let message = match (earlier.kind, later.kind) {
        (RelayWrite, RelayWrite) => format!("this point is already written by {}", what(earlier)),
        (RelayWrite, Command) | (Command, RelayWrite) => format!(
            "{} and {} would both write this point; a relay's point must have one writer",
            what(earlier),
            what(later)
        ),
        (RelayWrite, ReadBack) => format!(
            "this point is written by {}; a relay reads back its own point or a feedback input, not another relay's output",
            what(earlier)
        ),
        (RelayWrite, Input | Value) => format!(
            "this point is written by {}; reading it here would report the relay's own output (its state is already published for the relay)",
            what(earlier)
        ),
        (Input | Value, RelayWrite) => format!(
            "this point is already read by {}; a relay must not write a point other items read",
            what(earlier)
        ),
        (ReadBack, RelayWrite) => format!(
            "this point is the read-back of {}; a relay must not write another relay's feedback",
            what(earlier)
        ),
        (Input, Input) => format!("this point is already read by {}", what(earlier)),
        // A bit or a field of a register another value reads whole is deliberate.
        (Value, Value) if earlier.partial != later.partial => return None,
        (Value, Value) => format!(
            "this overlaps {} (values may share a register through different bits, or one may read it whole)",
            what(earlier)
        ),
        _ => return None,
    };
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(holding: Option<u64>, bit: Option<u8>) -> PointFields {
        PointFields {
            coil: None,
            discrete_input: None,
            holding_register: holding,
            input_register: None,
            bit,
        }
    }

    #[test]
    fn base_and_offset_give_wire_addresses() {
        let (a, key) = resolve(&fields(Some(1), Some(3)), 1, 0, 1, BitRule::Required).expect("ok");
        assert_eq!((a.wire, a.bit, key), (0, Some(3), "holding_register"));
        let (a, _) = resolve(&fields(Some(10), None), 0, 100, 2, BitRule::Optional).expect("ok");
        assert_eq!(a.wire, 110);
        assert!(resolve(&fields(Some(0), None), 1, 0, 1, BitRule::Optional).is_err());
        assert!(resolve(&fields(Some(65535), None), 0, 0, 2, BitRule::Optional).is_err());
        assert!(resolve(&fields(Some(65536), None), 1, 0, 1, BitRule::Optional).is_ok());
        let e = resolve(&fields(Some(65000), None), 0, 1000, 1, BitRule::Optional).unwrap_err();
        assert!(e.by_offset);
        let e = resolve(&fields(Some(5), None), 0, 0, 1, BitRule::Required).unwrap_err();
        assert!(e.message.contains("which one"));
    }

    #[test]
    fn point_ids_are_readable() {
        let a = Addr {
            table: Table::Holding,
            wire: 40,
            bit: Some(3),
        };
        assert_eq!(point_id("panel", a, 1).0, "panel/holding/40.3");
        let a = Addr {
            table: Table::Input,
            wire: 30,
            bit: None,
        };
        assert_eq!(point_id("panel", a, 2).0, "panel/input/30-31");
        assert_eq!(point_id("panel", a, 1).0, "panel/input/30");
    }

    #[test]
    fn masks_follow_byte_order() {
        let a = Addr {
            table: Table::Holding,
            wire: 10,
            bit: None,
        };
        // Low 8 bits of a u32: ABCD puts them in the second register, CDAB in the first.
        assert_eq!(
            masks(a, 2, Some((0, 8)), (false, false)),
            vec![(10, 0), (11, 0x00FF)]
        );
        assert_eq!(
            masks(a, 2, Some((0, 8)), (true, false)),
            vec![(10, 0x00FF), (11, 0)]
        );
        assert_eq!(
            masks(a, 2, Some((0, 8)), (true, true)),
            vec![(10, 0xFF00), (11, 0)]
        );
        assert_eq!(
            masks(a, 1, Some((4, 4)), (false, false)),
            vec![(10, 0x00F0)]
        );
    }
}
