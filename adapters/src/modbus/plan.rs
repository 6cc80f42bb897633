//! Poll planning: the fewest read requests that cover every configured point.
//!
//! Pure code, no I/O: [`plan_poll`] checks a [`ModbusConfig`]'s points and limits and groups
//! the polled points of each table into [`ReadBlock`]s (a write-only point, `polled: false`,
//! is in no block). Two neighbouring points share a request when at most `max_gap` unread
//! addresses lie between them (0 by default: only adjacent or overlapping points; a
//! write-only point's address counts as unread) and the request stays within
//! `max_registers_per_request` / `max_bits_per_request` (and the protocol's own limits: 125
//! registers, 2000 bits). A point is never split across two requests, so a 32-bit value is
//! always read in one piece; a register-bit point reads its whole register.

use std::collections::HashSet;
use std::fmt;

use super::config::{ModbusConfig, ModbusPoint, Table};

/// The most registers one FC03/FC04 request may read (Modbus application protocol, 6.3/6.4).
pub const PROTOCOL_MAX_REGISTERS: u16 = 125;
/// The most bits one FC01/FC02 request may read (Modbus application protocol, 6.1/6.2).
pub const PROTOCOL_MAX_BITS: u16 = 2000;

/// One read request of a poll cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBlock {
    /// The table read (FC01 coils, FC02 discrete inputs, FC03 holding, FC04 input).
    pub table: Table,
    /// First wire address read.
    pub start: u16,
    /// How many bits or registers are read.
    pub count: u16,
    /// Indexes (into [`ModbusConfig::points`]) of the points this request covers.
    pub points: Vec<usize>,
}

impl ReadBlock {
    /// One past the last address read.
    pub fn end(&self) -> u32 {
        u32::from(self.start) + u32::from(self.count)
    }
}

/// The reads of one poll cycle, in table then address order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollPlan {
    /// The requests of one cycle.
    pub blocks: Vec<ReadBlock>,
    /// For every point (same index as [`ModbusConfig::points`]), the block that reads it;
    /// `None` for a write-only point.
    pub block_of_point: Vec<Option<usize>>,
}

/// Why a configuration cannot be polled. The message names the point and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// The effective per-request limits (configured values capped at the protocol's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most registers per FC03/FC04 request (1–125).
    pub max_registers: u16,
    /// Most bits per FC01/FC02 request (1–2000).
    pub max_bits: u16,
    /// Unused addresses one request may span to join two points.
    pub max_gap: u16,
}

impl Limits {
    /// The limits of `config`, capped at the protocol's; zero limits are an error.
    pub fn of(config: &ModbusConfig) -> Result<Limits, PlanError> {
        if config.max_registers_per_request == 0 {
            return Err(PlanError(
                "max_registers_per_request must be at least 1".into(),
            ));
        }
        if config.max_bits_per_request == 0 {
            return Err(PlanError("max_bits_per_request must be at least 1".into()));
        }
        Ok(Limits {
            max_registers: config.max_registers_per_request.min(PROTOCOL_MAX_REGISTERS),
            max_bits: config.max_bits_per_request.min(PROTOCOL_MAX_BITS),
            max_gap: config.max_gap,
        })
    }

    fn of_table(self, table: Table) -> u16 {
        if table.is_bits() {
            self.max_bits
        } else {
            self.max_registers
        }
    }
}

/// Checks every point of `config` and plans the reads of one poll cycle.
pub fn plan_poll(config: &ModbusConfig) -> Result<PollPlan, PlanError> {
    let limits = Limits::of(config)?;
    check_points(&config.points, limits)?;
    Ok(plan_reads(&config.points, limits))
}

/// Checks points on their own: sizes, address range, bits, writability, unique ids.
pub fn check_points(points: &[ModbusPoint], limits: Limits) -> Result<(), PlanError> {
    let mut ids = HashSet::new();
    for p in points {
        let what = format!("point {} ({} {})", p.id, p.table.name(), p.address);
        if !ids.insert(&p.id) {
            return Err(PlanError(format!("{what}: the id is used twice")));
        }
        if p.count == 0 {
            return Err(PlanError(format!("{what}: count must be at least 1")));
        }
        if u32::from(p.address) + u32::from(p.count) > 0x1_0000 {
            return Err(PlanError(format!(
                "{what}: {} items from address {} run past the last address 65535",
                p.count, p.address
            )));
        }
        if p.table.is_bits() {
            if p.count != 1 {
                return Err(PlanError(format!(
                    "{what}: a {} point is one bit (count 1), not {}",
                    p.table.name(),
                    p.count
                )));
            }
            if p.bit.is_some() {
                return Err(PlanError(format!(
                    "{what}: `bit` applies to registers only"
                )));
            }
        }
        if let Some(bit) = p.bit {
            if bit > 15 {
                return Err(PlanError(format!(
                    "{what}: bit {bit} does not exist in a 16-bit register (0–15)"
                )));
            }
            if p.count != 1 {
                return Err(PlanError(format!(
                    "{what}: a register bit lies in one register (count 1), not {}",
                    p.count
                )));
            }
        }
        let limit = limits.of_table(p.table);
        if p.count > limit {
            return Err(PlanError(format!(
                "{what}: {} items do not fit in one request of at most {limit}",
                p.count
            )));
        }
        if p.writable && !p.table.is_writable() {
            return Err(PlanError(format!(
                "{what}: marked writable, but {} points are read-only",
                p.table.name()
            )));
        }
    }
    Ok(())
}

/// Groups checked points into the fewest read requests (see the module doc).
///
/// Points must have passed [`check_points`] with the same `limits`; a point that does not fit
/// a request on its own still gets a block of its own rather than a panic.
pub fn plan_reads(points: &[ModbusPoint], limits: Limits) -> PollPlan {
    let mut spans: Vec<(Table, u32, u32, usize)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.polled)
        .map(|(i, p)| {
            let start = u32::from(p.address);
            (p.table, start, start + u32::from(p.count.max(1)), i)
        })
        .collect();
    spans.sort_by_key(|&(table, start, end, i)| (table_order(table), start, end, i));

    let mut blocks: Vec<ReadBlock> = Vec::new();
    let mut block_of_point = vec![None; points.len()];
    // The open block: (table, start, end, point indexes).
    let mut open: Option<(Table, u32, u32, Vec<usize>)> = None;
    for (table, start, end, i) in spans {
        let limit = u32::from(limits.of_table(table));
        if let Some((t, s, e, members)) = open.as_mut() {
            let near = start <= *e + u32::from(limits.max_gap);
            let fits = end.max(*e) - *s <= limit;
            if *t == table && near && fits {
                *e = end.max(*e);
                members.push(i);
                continue;
            }
        }
        if let Some(done) = open.take() {
            close(done, &mut blocks, &mut block_of_point);
        }
        open = Some((table, start, end, vec![i]));
    }
    if let Some(done) = open.take() {
        close(done, &mut blocks, &mut block_of_point);
    }
    PollPlan {
        blocks,
        block_of_point,
    }
}

fn close(
    (table, start, end, points): (Table, u32, u32, Vec<usize>),
    blocks: &mut Vec<ReadBlock>,
    block_of_point: &mut [Option<usize>],
) {
    let index = blocks.len();
    for &p in &points {
        if let Some(slot) = block_of_point.get_mut(p) {
            *slot = Some(index);
        }
    }
    blocks.push(ReadBlock {
        table,
        // Addresses were built from u16 values and counts checked against 65536.
        start: u16::try_from(start).unwrap_or(u16::MAX),
        count: u16::try_from(end - start).unwrap_or(u16::MAX),
        points,
    });
}

/// Tables in the order a cycle reads them: inputs first (what changes on its own), then the
/// outputs.
fn table_order(table: Table) -> u8 {
    match table {
        Table::DiscreteInput => 0,
        Table::Input => 1,
        Table::Coil => 2,
        Table::Holding => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PointId;

    fn point(id: &str, table: Table, address: u16, count: u16) -> ModbusPoint {
        ModbusPoint {
            id: PointId(id.into()),
            table,
            address,
            count,
            bit: None,
            writable: false,
            polled: true,
        }
    }

    fn limits(max_registers: u16, max_bits: u16, max_gap: u16) -> Limits {
        Limits {
            max_registers,
            max_bits,
            max_gap,
        }
    }

    fn ranges(plan: &PollPlan) -> Vec<(Table, u16, u16)> {
        plan.blocks
            .iter()
            .map(|b| (b.table, b.start, b.count))
            .collect()
    }

    #[test]
    fn adjacent_and_near_points_share_one_request() {
        let points = vec![
            point("a", Table::Holding, 0, 1),
            point("b", Table::Holding, 1, 2),
            point("c", Table::Holding, 8, 1), // gap of 5 unused addresses (3..8)
        ];
        let plan = plan_reads(&points, limits(125, 2000, 5));
        assert_eq!(ranges(&plan), vec![(Table::Holding, 0, 9)]);
        assert_eq!(plan.block_of_point, vec![Some(0); 3]);
        assert_eq!(plan.blocks[0].points, vec![0, 1, 2]);
    }

    #[test]
    fn a_gap_wider_than_max_gap_starts_a_new_request() {
        let points = vec![
            point("a", Table::Input, 0, 1),
            point("b", Table::Input, 7, 1), // 6 unused addresses between them
        ];
        let plan = plan_reads(&points, limits(125, 2000, 5));
        assert_eq!(
            ranges(&plan),
            vec![(Table::Input, 0, 1), (Table::Input, 7, 1)]
        );
        let plan = plan_reads(&points, limits(125, 2000, 6));
        assert_eq!(ranges(&plan), vec![(Table::Input, 0, 8)]);
    }

    #[test]
    fn tables_never_share_a_request() {
        let points = vec![
            point("coil", Table::Coil, 0, 1),
            point("di", Table::DiscreteInput, 1, 1),
            point("hr", Table::Holding, 0, 1),
            point("ir", Table::Input, 1, 1),
        ];
        let plan = plan_reads(&points, limits(125, 2000, 100));
        assert_eq!(
            ranges(&plan),
            vec![
                (Table::DiscreteInput, 1, 1),
                (Table::Input, 1, 1),
                (Table::Coil, 0, 1),
                (Table::Holding, 0, 1),
            ]
        );
        assert_eq!(
            plan.block_of_point,
            vec![Some(2), Some(0), Some(3), Some(1)]
        );
    }

    #[test]
    fn requests_never_exceed_the_register_limit() {
        // 300 consecutive registers with a limit of 125: 125 + 125 + 50.
        let points: Vec<_> = (0..300)
            .map(|a| point(&format!("r{a}"), Table::Holding, a, 1))
            .collect();
        let plan = plan_reads(&points, limits(125, 2000, 8));
        assert_eq!(
            ranges(&plan),
            vec![
                (Table::Holding, 0, 125),
                (Table::Holding, 125, 125),
                (Table::Holding, 250, 50)
            ]
        );
        assert!(plan.blocks.iter().all(|b| b.count <= 125));
    }

    #[test]
    fn a_configured_limit_below_the_protocol_is_honoured() {
        let points: Vec<_> = (0..10)
            .map(|a| point(&format!("r{a}"), Table::Input, a, 1))
            .collect();
        let plan = plan_reads(&points, limits(4, 2000, 8));
        assert_eq!(
            ranges(&plan),
            vec![
                (Table::Input, 0, 4),
                (Table::Input, 4, 4),
                (Table::Input, 8, 2)
            ]
        );
    }

    #[test]
    fn bit_requests_honour_the_bit_limit() {
        let points: Vec<_> = (0..2500)
            .map(|a| point(&format!("c{a}"), Table::Coil, a, 1))
            .collect();
        let plan = plan_reads(&points, limits(125, 2000, 0));
        assert_eq!(
            ranges(&plan),
            vec![(Table::Coil, 0, 2000), (Table::Coil, 2000, 500)]
        );
    }

    #[test]
    fn a_32_bit_point_is_never_split() {
        // Registers 0..=2 single, then a u32 at 3..=4 with a limit of 4: the u32 would cross
        // the boundary, so it starts the next request.
        let points = vec![
            point("a", Table::Holding, 0, 1),
            point("b", Table::Holding, 1, 1),
            point("c", Table::Holding, 2, 1),
            point("wide", Table::Holding, 3, 2),
        ];
        let plan = plan_reads(&points, limits(4, 2000, 8));
        assert_eq!(
            ranges(&plan),
            vec![(Table::Holding, 0, 3), (Table::Holding, 3, 2)]
        );
        assert_eq!(plan.block_of_point[3], Some(1));
    }

    #[test]
    fn register_bits_read_their_register_once() {
        let mut bit0 = point("bit0", Table::Holding, 200, 1);
        bit0.bit = Some(0);
        let mut bit7 = point("bit7", Table::Holding, 200, 1);
        bit7.bit = Some(7);
        let whole = point("whole", Table::Holding, 200, 1);
        let plan = plan_reads(&[bit0, bit7, whole], limits(125, 2000, 0));
        assert_eq!(ranges(&plan), vec![(Table::Holding, 200, 1)]);
        assert_eq!(plan.blocks[0].points.len(), 3);
    }

    #[test]
    fn overlapping_points_share_a_request() {
        let points = vec![
            point("wide", Table::Input, 10, 2),
            point("low", Table::Input, 11, 1),
        ];
        let plan = plan_reads(&points, limits(125, 2000, 0));
        assert_eq!(ranges(&plan), vec![(Table::Input, 10, 2)]);
    }

    #[test]
    fn the_alarm_panel_layout_merges_gaps_only_when_allowed() {
        let points: Vec<_> = [0u16, 1, 10, 11, 20, 21, 22]
            .iter()
            .map(|&a| point(&format!("ir{a}"), Table::Input, a, 1))
            .collect();
        let default = config(points.clone());
        assert_eq!(
            ranges(&plan_poll(&default).expect("plan")),
            vec![
                (Table::Input, 0, 2),
                (Table::Input, 10, 2),
                (Table::Input, 20, 3)
            ]
        );
        let plan = plan_reads(&points, limits(125, 2000, 8));
        assert_eq!(ranges(&plan), vec![(Table::Input, 0, 23)]);
    }

    #[test]
    fn a_write_only_point_is_never_read_nor_merged_across() {
        // A value at HR60 and a command register at HR64 (HR61-63 do not exist): with the
        // default gap, one read of HR60 only; the command is in no block.
        let mut command = point("cmd", Table::Holding, 64, 1);
        command.writable = true;
        command.polled = false;
        let points = vec![point("battery", Table::Holding, 60, 1), command];
        let plan = plan_poll(&config(points.clone())).expect("plan");
        assert_eq!(ranges(&plan), vec![(Table::Holding, 60, 1)]);
        assert_eq!(plan.block_of_point, vec![Some(0), None]);
        // Even a device allowed gaps is not read at a write-only address.
        let plan = plan_reads(&points, limits(125, 2000, 8));
        assert_eq!(ranges(&plan), vec![(Table::Holding, 60, 1)]);
        // Its address counts as unread like any other: a device that tolerates gaps
        // (`max_gap` opted in) has a polled neighbour beyond it merged across it.
        let mut points = points;
        points.push(point("after", Table::Holding, 66, 1));
        let plan = plan_reads(&points, limits(125, 2000, 8));
        assert_eq!(ranges(&plan), vec![(Table::Holding, 60, 7)]);
        assert_eq!(plan.blocks[0].points, vec![0, 2]);
    }

    #[test]
    fn the_last_address_can_be_read() {
        let points = vec![point("last", Table::Holding, 65534, 2)];
        let plan = plan_reads(&points, limits(125, 2000, 8));
        assert_eq!(ranges(&plan), vec![(Table::Holding, 65534, 2)]);
        assert_eq!(plan.blocks[0].end(), 65536);
    }

    #[test]
    fn an_empty_configuration_plans_no_reads() {
        let plan = plan_reads(&[], limits(125, 2000, 8));
        assert!(plan.blocks.is_empty());
    }

    fn config(points: Vec<ModbusPoint>) -> ModbusConfig {
        let mut c = ModbusConfig::new(
            "t",
            super::super::config::Transport::Tcp {
                host: "127.0.0.1".into(),
                port: 502,
            },
            1,
        );
        c.points = points;
        c
    }

    fn plan_error(points: Vec<ModbusPoint>) -> String {
        plan_poll(&config(points)).unwrap_err().0
    }

    #[test]
    fn bad_points_are_refused_with_the_point_named() {
        assert!(plan_error(vec![point("z", Table::Holding, 0, 0)]).contains("point z"));
        assert!(plan_error(vec![point("end", Table::Holding, 65535, 2)]).contains("65535"));
        assert!(plan_error(vec![point("c", Table::Coil, 0, 2)]).contains("one bit"));
        let mut b = point("b", Table::Holding, 0, 1);
        b.bit = Some(16);
        assert!(plan_error(vec![b]).contains("bit 16"));
        let mut b = point("b", Table::Coil, 0, 1);
        b.bit = Some(1);
        assert!(plan_error(vec![b]).contains("registers only"));
        let mut w = point("w", Table::Input, 0, 1);
        w.writable = true;
        assert!(plan_error(vec![w]).contains("read-only"));
        assert!(plan_error(vec![point("big", Table::Input, 0, 126)]).contains("126"));
        assert!(
            plan_error(vec![
                point("d", Table::Input, 0, 1),
                point("d", Table::Input, 1, 1)
            ])
            .contains("twice")
        );
    }

    #[test]
    fn limits_are_capped_at_the_protocol_and_zero_is_refused() {
        let mut c = config(vec![]);
        c.max_registers_per_request = 500;
        c.max_bits_per_request = 5000;
        let l = Limits::of(&c).unwrap();
        assert_eq!((l.max_registers, l.max_bits), (125, 2000));
        c.max_registers_per_request = 0;
        assert!(Limits::of(&c).is_err());
    }
}
