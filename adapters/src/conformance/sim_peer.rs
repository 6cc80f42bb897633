//! [`SimPeer`]: the simulated panel as a conformance [`Peer`].

use std::collections::HashMap;
use std::io;

use crate::modbus::Table;
use crate::point::{PointId, Value};
use crate::sim::SimPanel;

use super::Peer;

/// Where a point lives in the simulated panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimPoint {
    /// Unit id (1 or 2).
    pub unit: u8,
    /// Table.
    pub table: Table,
    /// Wire address.
    pub address: u16,
    /// A bit inside a register.
    pub bit: Option<u8>,
}

/// The simulated panel, with the points a fixture uses.
#[derive(Debug)]
pub struct SimPeer {
    panel: SimPanel,
    points: HashMap<PointId, SimPoint>,
}

impl SimPeer {
    /// A peer with no points yet.
    pub fn new(panel: SimPanel) -> SimPeer {
        SimPeer {
            panel,
            points: HashMap::new(),
        }
    }

    /// Declares where `id` lives.
    pub fn with_point(mut self, id: &PointId, point: SimPoint) -> SimPeer {
        self.points.insert(id.clone(), point);
        self
    }

    /// The panel itself.
    pub fn panel(&self) -> &SimPanel {
        &self.panel
    }

    fn point(&self, id: &PointId) -> Result<SimPoint, String> {
        self.points
            .get(id)
            .copied()
            .ok_or_else(|| format!("the sim peer does not know point {id}"))
    }

    fn register(&self, p: SimPoint) -> Option<u16> {
        match p.table {
            Table::Holding => self.panel.holding(p.unit, p.address),
            _ => self.panel.input_register(p.unit, p.address),
        }
    }
}

impl Peer for SimPeer {
    async fn stop(&self) {
        self.panel.stop().await;
    }

    async fn restart(&self) -> io::Result<()> {
        self.panel.restart().await
    }

    fn set_input(&self, id: &PointId, value: &Value) -> Result<(), String> {
        let p = self.point(id)?;
        let result = match (p.table, p.bit, value) {
            (Table::DiscreteInput, _, Value::Bool(on)) => {
                self.panel.set_discrete_input(p.unit, p.address, *on)
            }
            (Table::Coil, _, Value::Bool(on)) => self.panel.set_coil(p.unit, p.address, *on),
            (Table::Input | Table::Holding, Some(bit), Value::Bool(on)) => {
                let current = self
                    .register(p)
                    .ok_or_else(|| format!("{id}: no such register"))?;
                let mask = 1u16 << (bit & 15);
                let new = if *on { current | mask } else { current & !mask };
                match p.table {
                    Table::Input => self.panel.set_input_register(p.unit, p.address, new),
                    _ => self.panel.set_holding(p.unit, p.address, new),
                }
            }
            (Table::Input, None, Value::U16(v)) => {
                self.panel.set_input_register(p.unit, p.address, *v)
            }
            (Table::Holding, None, Value::U16(v)) => self.panel.set_holding(p.unit, p.address, *v),
            _ => return Err(format!("{id}: the sim peer cannot set {value:?}")),
        };
        result.map_err(|e| format!("{id}: {e}"))
    }

    fn value(&self, id: &PointId) -> Result<Value, String> {
        let p = self.point(id)?;
        let value = match (p.table, p.bit) {
            (Table::Coil, _) => self.panel.coil(p.unit, p.address).map(Value::Bool),
            (Table::DiscreteInput, _) => self
                .panel
                .discrete_input(p.unit, p.address)
                .map(Value::Bool),
            (_, Some(bit)) => self
                .register(p)
                .map(|w| Value::Bool(w & (1 << (bit & 15)) != 0)),
            (_, None) => self.register(p).map(Value::U16),
        };
        value.ok_or_else(|| format!("{id}: the panel has no such address"))
    }

    fn connections(&self) -> Option<usize> {
        Some(self.panel.connections())
    }
}
