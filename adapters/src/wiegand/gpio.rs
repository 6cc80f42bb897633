//! [`GpioEdges`]: falling edges of a Wiegand reader's D0/D1 lines from the Linux GPIO
//! character device (`gpiocdev`, uAPI v2), with the kernel's timestamps (CLOCK_MONOTONIC),
//! as the [`EdgeSource`] of [`super::EdgeAdapter`].
//!
//! The framer's "now" (to end a frame after the gap) is the last edge's kernel timestamp
//! plus the time elapsed since it arrived, measured with [`Instant`]: monotonic, no clock
//! call, late by at most the delivery delay (which only ends a frame later).

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use gpiocdev::line::{EdgeDetection, EdgeKind};
use gpiocdev::tokio::AsyncRequest;

use super::edge_adapter::{EdgeSource, OpenEdges};
use super::edges::{Edge, Line};

/// Opens D0 and D1 of `chip` as inputs with falling-edge detection.
#[derive(Clone, Debug)]
pub struct GpioEdges {
    /// The chip, e.g. `/dev/gpiochip0`.
    pub chip: PathBuf,
    /// D0's line offset.
    pub d0: u32,
    /// D1's line offset.
    pub d1: u32,
    /// The consumer name the kernel shows for the lines (`gpioinfo`).
    pub consumer: String,
}

/// The requested lines.
pub struct GpioSource {
    request: AsyncRequest,
    d0: u32,
    last: Option<(u64, Instant)>,
}

impl std::fmt::Debug for GpioSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpioSource").finish_non_exhaustive()
    }
}

impl OpenEdges for GpioEdges {
    type Source = GpioSource;

    fn open(&mut self) -> io::Result<GpioSource> {
        let request = gpiocdev::Request::builder()
            .on_chip(&self.chip)
            .with_consumer(&self.consumer)
            .with_lines(&[self.d0, self.d1])
            .as_input()
            .with_edge_detection(EdgeDetection::FallingEdge)
            .request()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(GpioSource {
            request: AsyncRequest::new(request),
            d0: self.d0,
            last: None,
        })
    }
}

impl EdgeSource for GpioSource {
    async fn next_edge(&mut self) -> io::Result<Option<Edge>> {
        loop {
            let event = self
                .request
                .read_edge_event()
                .await
                .map_err(|e| io::Error::other(e.to_string()))?;
            if event.kind != EdgeKind::Falling {
                continue;
            }
            self.last = Some((event.timestamp_ns, Instant::now()));
            let line = if event.offset == self.d0 {
                Line::D0
            } else {
                Line::D1
            };
            return Ok(Some(Edge {
                ns: event.timestamp_ns,
                line,
            }));
        }
    }

    fn now_ns(&self) -> u64 {
        match self.last {
            Some((ns, at)) => {
                ns.saturating_add(u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX))
            }
            None => 0,
        }
    }
}
