//! The Modbus poll planner (`railgate_adapters::modbus::plan`) on arbitrary point lists and
//! request limits, built with `arbitrary` (a mapping is not needed to reach every case; the
//! `mapping_yaml` target plans every controller of the mappings it compiles).
//!
//! Invariants:
//! - no panic: `plan_poll` on anything, and `plan_reads` on points that did not pass the
//!   checks (its documented promise);
//! - `plan_poll` refuses exactly what `check_points` refuses;
//! - an accepted plan reads every polled point exactly once, in a block of its table that
//!   covers it whole and keeps to the request limit; write-only points are in no block;
//!   `block_of_point` agrees with the blocks; blocks are in table then address order and
//!   start and end on a point; two neighbouring blocks of one table could not have been one
//!   request (the gap or the size is over the limit). (Blocks of one table may overlap: a
//!   point that does not fit the open request starts its own, even inside the previous one.)
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use railgate_adapters::PointId;
use railgate_adapters::modbus::plan::{Limits, check_points, plan_poll, plan_reads};
use railgate_adapters::modbus::{ModbusConfig, ModbusPoint, PollPlan, Table, Transport};

#[derive(Arbitrary, Debug)]
struct Input {
    max_registers: u16,
    max_bits: u16,
    max_gap: u16,
    points: Vec<RawPoint>,
}

#[derive(Arbitrary, Debug)]
struct RawPoint {
    id: u8,
    table: u8,
    address: u16,
    count: u16,
    bit: Option<u8>,
    writable: bool,
    polled: bool,
}

fn table(n: u8) -> Table {
    [
        Table::Coil,
        Table::DiscreteInput,
        Table::Holding,
        Table::Input,
    ][usize::from(n % 4)]
}

fn order(t: Table) -> u8 {
    match t {
        Table::DiscreteInput => 0,
        Table::Input => 1,
        Table::Coil => 2,
        Table::Holding => 3,
    }
}

fuzz_target!(|input: Input| {
    let mut config = ModbusConfig::new(
        "fuzz",
        Transport::Tcp {
            host: "127.0.0.1".into(),
            port: 502,
        },
        1,
    );
    config.max_registers_per_request = input.max_registers;
    config.max_bits_per_request = input.max_bits;
    config.max_gap = input.max_gap;
    config.points = input
        .points
        .iter()
        .take(512)
        .map(|p| ModbusPoint {
            id: PointId(format!("p{}", p.id)),
            table: table(p.table),
            address: p.address,
            count: p.count,
            bit: p.bit,
            writable: p.writable,
            polled: p.polled,
        })
        .collect();

    let planned = plan_poll(&config);
    let Ok(limits) = Limits::of(&config) else {
        assert!(planned.is_err());
        return;
    };
    // The documented promise: unchecked points still get a plan, never a panic.
    let unchecked = plan_reads(&config.points, limits);
    assert_eq!(unchecked.block_of_point.len(), config.points.len());

    let checked = check_points(&config.points, limits);
    assert_eq!(
        checked.is_ok(),
        planned.is_ok(),
        "{checked:?} vs {planned:?}"
    );
    if let Ok(plan) = planned {
        assert_eq!(plan, unchecked, "plan_poll is check_points + plan_reads");
        check_plan(&config, limits, &plan);
    }
});

fn check_plan(config: &ModbusConfig, limits: Limits, plan: &PollPlan) {
    let points = &config.points;
    assert_eq!(plan.block_of_point.len(), points.len());
    let mut seen = vec![0usize; points.len()];
    for (b, block) in plan.blocks.iter().enumerate() {
        assert!(!block.points.is_empty(), "empty block {block:?}");
        assert!(block.count >= 1);
        let limit = if block.table.is_bits() {
            limits.max_bits
        } else {
            limits.max_registers
        };
        assert!(block.count <= limit, "{block:?} over {limit}");
        assert!(block.end() <= 0x1_0000, "{block:?} runs past 65535");
        let (mut first, mut last) = (u32::MAX, 0u32);
        for &i in &block.points {
            let p = &points[i];
            seen[i] += 1;
            assert!(p.polled, "write-only point {i} read");
            assert_eq!(p.table, block.table);
            let (start, end) = (
                u32::from(p.address),
                u32::from(p.address) + u32::from(p.count),
            );
            assert!(
                u32::from(block.start) <= start && end <= block.end(),
                "{p:?} in {block:?}"
            );
            assert_eq!(plan.block_of_point[i], Some(b));
            first = first.min(start);
            last = last.max(end);
        }
        assert_eq!(
            (u32::from(block.start), block.end()),
            (first, last),
            "block does not start and end on its points: {block:?}"
        );
    }
    for (i, p) in points.iter().enumerate() {
        assert_eq!(
            seen[i],
            usize::from(p.polled),
            "point {i} read {} times",
            seen[i]
        );
        assert_eq!(plan.block_of_point[i].is_some(), p.polled);
    }
    for pair in plan.blocks.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (order(a.table), a.start) <= (order(b.table), b.start),
            "order: {a:?} {b:?}"
        );
        if a.table == b.table {
            let limit = u32::from(if a.table.is_bits() {
                limits.max_bits
            } else {
                limits.max_registers
            });
            let far = u32::from(b.start) > a.end() + u32::from(limits.max_gap);
            let big = b.end().max(a.end()) - u32::from(a.start) > limit;
            assert!(far || big, "{a:?} and {b:?} fit in one request");
        }
    }
}
