//! The task that owns one controller's link: connect, poll, write, back off, stop.
//!
//! ```text
//!   ┌──────────── connect ◄──────────── back off (initial → ×2 → max, ±20 %) ◄──┐
//!   ▼                                                                         │
//! session: every poll_interval (start to start), read each block;             │
//!          between blocks and between cycles, serve queued writes first;      │
//!          after a write, read its block back at once.                        │
//!          an exception → that block's points Bad, link stays up              │
//!          no answer after retries → link Down, points Stale ────────────────┘
//! ```
//! While the link is down, writes are answered [`WriteError::LinkDown`] at once. The stop token
//! is honoured at every wait; on stop the connection is closed and queued writes are answered.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::time::{Instant, sleep, sleep_until};
use tokio_modbus::{ExceptionCode, Request, Response};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::adapter::{AdapterIo, Command, WriteRequest};
use crate::event::{LinkEvent, LinkState, WriteError};
use crate::point::{PointId, PointUpdate, Quality, Value};

use super::attempt::Call;
use super::config::{ModbusConfig, Table};
use super::link::{Link, write_registers};
use super::plan::{PollPlan, ReadBlock};
use super::values::{BlockData, value_of, zero_value};
use super::write::{WriteOp, write_op};
use crate::backoff::ReconnectDelays;
use crate::tracker::Tracker;

/// Why a session (one connection's lifetime) ended.
enum End {
    /// The stop token was cancelled.
    Stopped,
    /// The link failed; the text says why.
    Broken(String),
}

/// A write that did not happen.
enum WriteFailure {
    Refused(ExceptionCode),
    End(End),
}

pub(crate) struct Runner {
    config: ModbusConfig,
    plan: PollPlan,
    link: Link,
    tracker: Tracker,
    ids: HashMap<PointId, usize>,
    io: AdapterIo,
    stop: CancellationToken,
    /// The state last reported through `io.link` (none yet at start).
    reported: Option<LinkState>,
    /// Why the link is down, for writes refused meanwhile.
    down_reason: String,
    /// The exception each block last answered, to log it once until it recovers.
    block_errors: Vec<Option<ExceptionCode>>,
    /// Set once the device answered FC22 with IllegalFunction.
    no_mask_write: bool,
    commands_open: bool,
}

impl Runner {
    pub(crate) fn new(
        config: ModbusConfig,
        plan: PollPlan,
        link: Link,
        io: AdapterIo,
        stop: CancellationToken,
    ) -> Runner {
        let ids = config
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Runner {
            tracker: Tracker::new(config.points.len()),
            block_errors: vec![None; plan.blocks.len()],
            config,
            plan,
            link,
            ids,
            io,
            stop,
            reported: None,
            down_reason: "not connected yet".into(),
            no_mask_write: false,
            commands_open: true,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut delays = ReconnectDelays::new(&self.config.backoff);
        info!(
            controller = %self.config.name,
            points = self.config.points.len(),
            requests_per_cycle = self.plan.blocks.len(),
            "modbus adapter started"
        );
        loop {
            let end = match self.connect().await {
                Err(End::Stopped) => break,
                Err(End::Broken(reason)) => End::Broken(reason),
                Ok(()) => self.session(&mut delays).await,
            };
            match end {
                End::Stopped => break,
                End::Broken(reason) => {
                    self.link_down(reason).await;
                    let delay = delays.next_delay();
                    debug!(controller = %self.config.name, delay_ms = delay.as_millis() as u64, "reconnecting after a pause");
                    if self.wait_down(delay).await.is_err() {
                        break;
                    }
                }
            }
        }
        self.shutdown().await;
    }

    /// Opens the link, answering writes with LinkDown meanwhile.
    async fn connect(&mut self) -> Result<(), End> {
        let stop = self.stop.clone();
        let link = &mut self.link;
        let open = link.open();
        tokio::pin!(open);
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return Err(End::Stopped),
                cmd = self.io.commands.recv(), if self.commands_open => match cmd {
                    Some(Command::Write(req)) => {
                        req.answer(Err(WriteError::LinkDown(self.down_reason.clone())));
                    }
                    None => self.commands_open = false,
                },
                result = &mut open => return result.map_err(End::Broken),
            }
        }
    }

    /// Waits `delay` while the link is down, answering writes with LinkDown.
    async fn wait_down(&mut self, delay: Duration) -> Result<(), End> {
        let until = sleep(delay);
        tokio::pin!(until);
        loop {
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return Err(End::Stopped),
                cmd = self.io.commands.recv(), if self.commands_open => match cmd {
                    Some(Command::Write(req)) => {
                        req.answer(Err(WriteError::LinkDown(self.down_reason.clone())));
                    }
                    None => self.commands_open = false,
                },
                () = &mut until => return Ok(()),
            }
        }
    }

    /// One connection's lifetime: poll cycles and writes until the link breaks or stop.
    async fn session(&mut self, delays: &mut ReconnectDelays) -> End {
        self.tracker.new_session();
        let mut next_cycle = Instant::now();
        loop {
            let now = Instant::now();
            if now < next_cycle {
                let stop = self.stop.clone();
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return End::Stopped,
                    cmd = self.io.commands.recv(), if self.commands_open => match cmd {
                        Some(Command::Write(req)) => {
                            if let Err(end) = self.write(req).await {
                                return end;
                            }
                        }
                        None => self.commands_open = false,
                    },
                    () = sleep_until(next_cycle) => {}
                }
                continue;
            }
            // Due (or overdue: a timer for a past instant would still wait for the timer
            // wheel's next turn, so a due cycle starts without one).
            if self.stop.is_cancelled() {
                return End::Stopped;
            }
            // Start to start; after an overrun the next cycle starts at once, but only one:
            // there is no backlog to catch up on. With nothing to read, a cycle only confirms
            // the connection, at most once a second.
            next_cycle = if self.plan.blocks.is_empty() {
                now + self.config.poll_interval.max(Duration::from_secs(1))
            } else {
                now + self.config.poll_interval
            };
            let cycle = Instant::now();
            if let Err(end) = self.poll_cycle().await {
                return end;
            }
            self.link.stats.cycle(cycle.elapsed());
            if next_cycle <= Instant::now() {
                // Overran (or no interval at all): let other tasks run before the next cycle.
                tokio::task::yield_now().await;
            }
            if self.reported != Some(LinkState::Up) {
                self.report_link(LinkState::Up, None).await;
                info!(controller = %self.config.name, "link up");
                delays.reset();
            }
        }
    }

    async fn poll_cycle(&mut self) -> Result<(), End> {
        self.serve_queued_writes().await?;
        for block in 0..self.plan.blocks.len() {
            if block > 0 {
                // Writes take priority over the reads still to come.
                self.serve_queued_writes().await?;
            }
            self.read_block(block).await?;
        }
        Ok(())
    }

    /// Serves every write waiting in the channel.
    async fn serve_queued_writes(&mut self) -> Result<(), End> {
        while self.commands_open {
            match self.io.commands.try_recv() {
                Ok(Command::Write(req)) => self.write(req).await?,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    self.commands_open = false;
                }
            }
        }
        Ok(())
    }

    /// Reads one block and reports what changed.
    async fn read_block(&mut self, index: usize) -> Result<(), End> {
        let Some(block) = self.plan.blocks.get(index) else {
            return Ok(());
        };
        let request = read_request(block);
        match self.link.call(&request, &self.stop).await {
            Call::Answer(response) => {
                let data = match response {
                    Response::ReadCoils(bits) | Response::ReadDiscreteInputs(bits) => {
                        BlockData::Bits(bits)
                    }
                    Response::ReadHoldingRegisters(words) | Response::ReadInputRegisters(words) => {
                        BlockData::Registers(words)
                    }
                    _ => return Err(End::Broken("unexpected response to a read".into())),
                };
                if let Some(code) = self.block_errors.get_mut(index).and_then(Option::take) {
                    info!(
                        controller = %self.config.name,
                        points = %self.points_of(block),
                        table = block.table.name(), start = block.start, count = block.count,
                        previous = %describe_exception(code),
                        "read answers again"
                    );
                }
                let at = SystemTime::now();
                let (start, count) = (block.start, block.points.len());
                for k in 0..count {
                    let Some(&p) = self.plan.blocks.get(index).and_then(|b| b.points.get(k)) else {
                        continue;
                    };
                    let Some(point) = self.config.points.get(p) else {
                        continue;
                    };
                    match value_of(point, start, &data) {
                        Some(value) => {
                            if let Some(update) = self.changed(p, value, Quality::Good, at) {
                                self.emit(update).await;
                            }
                        }
                        None => {
                            debug!(controller = %self.config.name, point = %point.id, "point outside its block");
                        }
                    }
                }
                Ok(())
            }
            Call::Exception(code) => {
                let block = block.clone();
                let first = self
                    .block_errors
                    .get(index)
                    .is_some_and(|last| *last != Some(code));
                if first {
                    let points = self.points_of(&block);
                    warn!(
                        controller = %self.config.name,
                        %points,
                        function = %format!("FC{:02}", block.table.read_function()),
                        addresses = %wire_range(&block),
                        exception = %describe_exception(code),
                        "device refuses the read; its points are reported Bad until it answers"
                    );
                    if let Some(slot) = self.block_errors.get_mut(index) {
                        *slot = Some(code);
                    }
                }
                let at = SystemTime::now();
                for &p in &block.points {
                    let value = match (self.tracker.last_value(p), self.config.points.get(p)) {
                        (Some(v), _) => v.clone(),
                        (None, Some(point)) => zero_value(point),
                        (None, None) => continue,
                    };
                    if let Some(update) = self.changed(p, value, Quality::Bad, at) {
                        self.emit(update).await;
                    }
                }
                Ok(())
            }
            Call::Broken(reason) => Err(End::Broken(reason)),
            Call::Stopped => Err(End::Stopped),
        }
    }

    /// The ids of a block's points, for logs: `panel/holding/60, panel/holding/61`.
    fn points_of(&self, block: &ReadBlock) -> String {
        let ids: Vec<&str> = block
            .points
            .iter()
            .filter_map(|&p| self.config.points.get(p))
            .map(|p| p.id.0.as_str())
            .collect();
        ids.join(", ")
    }

    /// Serves one write; the session ends only if the link broke.
    async fn write(&mut self, req: WriteRequest) -> Result<(), End> {
        let WriteRequest { id, value, reply } = req;
        let Some(&index) = self.ids.get(&id) else {
            let _ = reply.send(Err(WriteError::NotWritable(format!(
                "{id} is not a point of controller {}",
                self.config.name
            ))));
            return Ok(());
        };
        let op = match self.config.points.get(index).map(|p| write_op(p, &value)) {
            Some(Ok(op)) => op,
            Some(Err(e)) => {
                let _ = reply.send(Err(e));
                return Ok(());
            }
            None => return Ok(()),
        };
        match self.perform(&op).await {
            Ok(()) => {
                debug!(controller = %self.config.name, point = %id, ?value, "written");
                let _ = reply.send(Ok(()));
                // Read it back at once so the new state is reported without waiting a cycle
                // (a write-only point is in no block: nothing to read back).
                let block = self.plan.block_of_point.get(index).copied().flatten();
                match block {
                    Some(block) => self.read_block(block).await,
                    None => Ok(()),
                }
            }
            Err(WriteFailure::Refused(code)) => {
                warn!(controller = %self.config.name, point = %id, exception = %describe_exception(code), "device refused a write");
                let _ = reply.send(Err(WriteError::Refused(describe_exception(code))));
                Ok(())
            }
            Err(WriteFailure::End(End::Broken(reason))) => {
                let _ = reply.send(Err(WriteError::LinkDown(reason.clone())));
                Err(End::Broken(reason))
            }
            Err(WriteFailure::End(End::Stopped)) => {
                let _ = reply.send(Err(WriteError::LinkDown("the adapter is stopping".into())));
                Err(End::Stopped)
            }
        }
    }

    async fn perform(&mut self, op: &WriteOp) -> Result<(), WriteFailure> {
        match *op {
            WriteOp::Coil { address, on } => {
                self.request(Request::WriteSingleCoil(address, on)).await
            }
            WriteOp::Register { address, value } => {
                self.request(Request::WriteSingleRegister(address, value))
                    .await
            }
            WriteOp::Registers {
                address,
                ref values,
            } => self.request(write_registers(address, values)).await,
            WriteOp::Bit { address, bit, on } => {
                if self.config.mask_write && !self.no_mask_write {
                    let (and, or) = WriteOp::masks(bit, on);
                    match self
                        .request(Request::MaskWriteRegister(address, and, or))
                        .await
                    {
                        Err(WriteFailure::Refused(ExceptionCode::IllegalFunction)) => {
                            warn!(
                                controller = %self.config.name,
                                "device does not implement FC22 (mask write register); register bits are written by read-modify-write from now on (not atomic)"
                            );
                            self.no_mask_write = true;
                        }
                        other => return other,
                    }
                }
                // Read-modify-write: not atomic (see `write`).
                let current = match self
                    .link
                    .call(&Request::ReadHoldingRegisters(address, 1), &self.stop)
                    .await
                {
                    Call::Answer(Response::ReadHoldingRegisters(words)) => match words.first() {
                        Some(&w) => w,
                        None => return Err(WriteFailure::End(End::Broken("empty read".into()))),
                    },
                    Call::Answer(_) => {
                        return Err(WriteFailure::End(End::Broken(
                            "unexpected response to a read".into(),
                        )));
                    }
                    Call::Exception(code) => return Err(WriteFailure::Refused(code)),
                    Call::Broken(reason) => return Err(WriteFailure::End(End::Broken(reason))),
                    Call::Stopped => return Err(WriteFailure::End(End::Stopped)),
                };
                let new = WriteOp::with_bit(current, bit, on);
                self.request(Request::WriteSingleRegister(address, new))
                    .await
            }
        }
    }

    async fn request(&mut self, request: Request<'static>) -> Result<(), WriteFailure> {
        match self.link.call(&request, &self.stop).await {
            Call::Answer(_) => Ok(()),
            Call::Exception(code) => Err(WriteFailure::Refused(code)),
            Call::Broken(reason) => Err(WriteFailure::End(End::Broken(reason))),
            Call::Stopped => Err(WriteFailure::End(End::Stopped)),
        }
    }

    /// Records a reading; the update to report if it changed (or is the first of this
    /// session).
    fn changed(
        &mut self,
        index: usize,
        value: Value,
        quality: Quality,
        at: SystemTime,
    ) -> Option<PointUpdate> {
        let value = self.tracker.record(index, value, quality)?;
        let point = self.config.points.get(index)?;
        Some(PointUpdate {
            id: point.id.clone(),
            value,
            quality,
            at,
        })
    }

    /// Sends an update; a full channel must not keep the adapter from stopping.
    async fn emit(&mut self, update: PointUpdate) {
        self.io.point(update, &self.stop).await;
    }

    /// Reports the link down (once) and every known point stale (once).
    async fn link_down(&mut self, reason: String) {
        self.link.close().await;
        if self.reported != Some(LinkState::Down) {
            warn!(controller = %self.config.name, %reason, "link down");
            self.report_link(LinkState::Down, Some(reason.clone()))
                .await;
        } else {
            debug!(controller = %self.config.name, %reason, "still down");
        }
        self.down_reason = reason;
        let at = SystemTime::now();
        for index in 0..self.config.points.len() {
            if let Some(value) = self.tracker.stale(index) {
                let Some(point) = self.config.points.get(index) else {
                    continue;
                };
                let update = PointUpdate {
                    id: point.id.clone(),
                    value,
                    quality: Quality::Stale,
                    at,
                };
                self.emit(update).await;
            }
        }
    }

    async fn report_link(&mut self, state: LinkState, reason: Option<String>) {
        self.reported = Some(state);
        let event = LinkEvent {
            link: self.config.name.clone(),
            state,
            reason,
        };
        self.io.link(event, &self.stop).await;
    }

    /// Closes the connection and answers every queued write.
    async fn shutdown(&mut self) {
        self.link.close().await;
        self.io.refuse_queued("the adapter stopped");
        info!(controller = %self.config.name, "modbus adapter stopped");
    }
}

pub(crate) fn read_request(block: &ReadBlock) -> Request<'static> {
    match block.table {
        Table::Coil => Request::ReadCoils(block.start, block.count),
        Table::DiscreteInput => Request::ReadDiscreteInputs(block.start, block.count),
        Table::Holding => Request::ReadHoldingRegisters(block.start, block.count),
        Table::Input => Request::ReadInputRegisters(block.start, block.count),
    }
}

/// The wire addresses a block reads: `60` or `60-64`.
fn wire_range(block: &ReadBlock) -> String {
    let last = block.end().saturating_sub(1);
    if u32::from(block.start) == last {
        block.start.to_string()
    } else {
        format!("{}-{last}", block.start)
    }
}

/// `IllegalDataAddress (exception 0x02)`: the name and the code, as written to logs and to
/// [`WriteError::Refused`].
pub(crate) fn describe_exception(code: ExceptionCode) -> String {
    format!("{code:?} (exception 0x{:02X})", u8::from(code))
}
