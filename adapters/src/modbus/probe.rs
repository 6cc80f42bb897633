//! One read of every polled point of a controller, for commissioning (`railgate probe`):
//! the poll plan's requests once each, on the controller's own link (a TCP connection, or
//! its serial port through a [`BusTask`] of its own), with the same timeout, retries and
//! response checks as the adapter. Write-only points (`polled: false`) are never read.
//!
//! A refused read (an exception response) is reported for the points of that request and
//! the others are still read; a link that does not answer after the retries ends the probe:
//! the report says why, with the points read until then.

use tokio_modbus::Response;
use tokio_util::sync::CancellationToken;

use super::attempt::Call;
use super::bus::BusTask;
use super::config::{ModbusConfig, Transport};
use super::link::Link;
use super::plan::plan_poll;
use super::runner::{describe_exception, read_request};
use super::values::{BlockData, value_of};
use crate::point::Value;

/// What one point's read gave.
#[derive(Clone, Debug, PartialEq)]
pub enum PointOutcome {
    /// The device answered.
    Read {
        /// The point's own bits or registers, as on the wire (a register bit: its register).
        raw: RawData,
        /// The value the adapter reports for it.
        value: Value,
    },
    /// The device refused the request that covers it: the exception, e.g.
    /// `IllegalDataAddress (exception 0x02)`.
    Refused(String),
    /// Not read: a write-only point (an auxiliary command's register).
    WriteOnly,
    /// Not read: the link went down before its request.
    NotReached,
}

/// Bits or registers as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawData {
    /// FC01/FC02.
    Bits(Vec<bool>),
    /// FC03/FC04.
    Registers(Vec<u16>),
}

/// A controller's probe.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeReport {
    /// Read requests sent (one per block of the poll plan reached).
    pub requests: usize,
    /// For every point of the configuration, in its order.
    pub points: Vec<PointOutcome>,
    /// Why the link is down, when it did not answer.
    pub unreachable: Option<String>,
}

impl ProbeReport {
    /// Whether some point was refused.
    pub fn any_refused(&self) -> bool {
        self.points
            .iter()
            .any(|p| matches!(p, PointOutcome::Refused(_)))
    }
}

/// Reads every polled point of `config` once. Errors are configurations that cannot run
/// (the same checks as the adapter's); an unreachable device is a report.
pub async fn probe(config: &ModbusConfig, stop: &CancellationToken) -> Result<ProbeReport, String> {
    let plan = plan_poll(config).map_err(|e| e.to_string())?;
    Link::check(config)?;
    match &config.transport {
        Transport::Rtu { .. } => {
            let (bus, handle) = BusTask::open(config)?;
            let link = Link::new(config, Some(handle))?;
            // The bus task ends once the link (its last handle) is dropped.
            let (_, report) = tokio::join!(bus.run(), read_all(config, &plan, link, stop));
            Ok(report)
        }
        Transport::Tcp { .. } => Ok(read_all(config, &plan, Link::new(config, None)?, stop).await),
    }
}

async fn read_all(
    config: &ModbusConfig,
    plan: &super::plan::PollPlan,
    mut link: Link,
    stop: &CancellationToken,
) -> ProbeReport {
    let mut points: Vec<PointOutcome> = config
        .points
        .iter()
        .map(|p| {
            if p.polled {
                PointOutcome::NotReached
            } else {
                PointOutcome::WriteOnly
            }
        })
        .collect();
    let mut report = ProbeReport {
        requests: 0,
        points: Vec::new(),
        unreachable: None,
    };
    for block in &plan.blocks {
        report.requests += 1;
        match link.call(&read_request(block), stop).await {
            Call::Answer(response) => {
                let data = match response {
                    Response::ReadCoils(bits) | Response::ReadDiscreteInputs(bits) => {
                        BlockData::Bits(bits)
                    }
                    Response::ReadHoldingRegisters(words) | Response::ReadInputRegisters(words) => {
                        BlockData::Registers(words)
                    }
                    _ => {
                        report.unreachable = Some("unexpected response to a read".into());
                        break;
                    }
                };
                for &i in &block.points {
                    let (Some(point), Some(slot)) = (config.points.get(i), points.get_mut(i))
                    else {
                        continue;
                    };
                    if let Some(value) = value_of(point, block.start, &data) {
                        let offset = usize::from(point.address - block.start);
                        let raw = match &data {
                            BlockData::Bits(bits) => {
                                RawData::Bits(bits.get(offset..offset + 1).unwrap_or(&[]).to_vec())
                            }
                            BlockData::Registers(words) => RawData::Registers(
                                words
                                    .get(offset..offset + usize::from(point.count.max(1)))
                                    .unwrap_or(&[])
                                    .to_vec(),
                            ),
                        };
                        *slot = PointOutcome::Read { raw, value };
                    }
                }
            }
            Call::Exception(code) => {
                for &i in &block.points {
                    if let Some(slot) = points.get_mut(i) {
                        *slot = PointOutcome::Refused(describe_exception(code));
                    }
                }
            }
            Call::Broken(reason) => {
                report.unreachable = Some(reason);
                break;
            }
            Call::Stopped => {
                report.unreachable = Some("stopped".into());
                break;
            }
        }
    }
    link.close().await;
    report.points = points;
    report
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::PointId;
    use crate::modbus::{ModbusPoint, Table};
    use crate::sim::{self, SimOptions, layout};

    fn point(id: &str, table: Table, address: u16, count: u16, polled: bool) -> ModbusPoint {
        ModbusPoint {
            id: PointId(id.into()),
            table,
            address,
            count,
            bit: None,
            writable: !polled,
            polled,
        }
    }

    #[tokio::test]
    async fn reads_each_polled_point_once_and_reports_refusals() {
        let panel = sim::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions { animate: false },
        )
        .await
        .unwrap();
        panel
            .set_input_register(layout::panel::UNIT, layout::panel::BATTERY_PERCENT, 87)
            .unwrap();
        let addr = panel.local_addr();
        let mut config = ModbusConfig::new(
            "panel",
            Transport::Tcp {
                host: addr.ip().to_string(),
                port: addr.port(),
            },
            layout::panel::UNIT,
        );
        config.points = vec![
            point(
                "battery",
                Table::Input,
                layout::panel::BATTERY_PERCENT,
                1,
                true,
            ),
            point("cmd", Table::Holding, layout::panel::COMMAND, 1, false),
            point("nothing", Table::Input, 9000, 1, true),
        ];
        let stop = CancellationToken::new();
        let report = probe(&config, &stop).await.unwrap();
        assert_eq!(report.unreachable, None);
        assert_eq!(report.requests, 2, "{report:?}");
        assert_eq!(
            report.points[0],
            PointOutcome::Read {
                raw: RawData::Registers(vec![87]),
                value: Value::U16(87)
            }
        );
        assert_eq!(report.points[1], PointOutcome::WriteOnly);
        assert!(
            matches!(&report.points[2], PointOutcome::Refused(e) if e.contains("exception 0x02")),
            "{report:?}"
        );
        assert!(report.any_refused());
        panel.stop().await;
    }

    #[tokio::test]
    async fn an_unreachable_device_is_a_report_not_an_error() {
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut config = ModbusConfig::new(
            "gone",
            Transport::Tcp {
                host: "127.0.0.1".into(),
                port,
            },
            1,
        );
        config.retries = 0;
        config.timeout = Duration::from_millis(300);
        config.points = vec![point("a", Table::Coil, 0, 1, true)];
        let report = probe(&config, &CancellationToken::new()).await.unwrap();
        assert!(report.unreachable.is_some(), "{report:?}");
        assert_eq!(report.points, [PointOutcome::NotReached]);
    }
}
