//! The southbound side as the gateway sees it: the compiled mapping, the engine that reads
//! it, the adapters that talk to controllers, and what ONVIF clients may ask of them (relay
//! states and settings, digital input settings, auxiliary commands, serial ports).
//!
//! ```text
//!  adapters (links.rs: one tracked task each) ──AdapterEvent──► SouthboundCore (owner.rs)
//!        ▲                                                       │ engine.update / tick
//!        └──────────── Command::Write ◄── writes in flight ◄─────┤ fall-backs (fallback.rs)
//!                                                                │
//!  services::io ── Southbound (handle.rs) ──Request + oneshot──► │
//!                        ▲ views (watch snapshot) ◄──────────────┤
//!                                    link states + outputs, in order ▼ (held while a link is down)
//!                                               publish.rs: run_publisher ──► EventCore
//! ```
//!
//! - [`Southbound`] (`handle.rs`): what handlers hold; reads from the snapshot, changes by
//!   request.
//! - `messages.rs`: what crosses between the two: `Request`, `IoError`, the `Views`
//!   snapshot (both import it; it imports neither).
//! - `SouthboundCore` (`owner.rs`): the one task owning the engine, link states, monostable
//!   fall-backs and writes in flight; its module doc gives the shutdown order.
//! - `Fallbacks` (`fallback.rs`): when each monostable relay returns to inactive, and the
//!   fall-backs still owed until a controller confirms them; `late_fallback.rs`: the
//!   `rg:Device/Trigger/RelayFallBackDelayed` event of one that had to wait.
//! - `Held` (`hold.rs`): a controller's outputs kept back while its link is not up.
//! - `Links` (`links.rs`): the adapter tasks, and the one place a mapping's controller becomes
//!   an adapter.
//! - [`publish`]: link states and engine outputs as events, topic descriptions; the publisher
//!   task.
//! - [`settings`]: relay, input and serial-port settings clients changed, persisted.
//! - [`serial`]: the mapping's serial ports; each exposed one is owned by a
//!   `railgate_adapters::serial::PortTask`, started beside the core (a Modbus RTU
//!   controller's port belongs to its bus and is listed read-only).

mod fallback;
mod handle;
mod hold;
mod late_fallback;
#[cfg(test)]
mod link_tests;
mod links;
mod messages;
mod owner;
pub mod publish;
mod readers;
#[cfg(test)]
mod reload_tests;
pub mod serial;
pub mod settings;
pub mod status;
#[cfg(test)]
mod tests;

pub use handle::Southbound;
pub use messages::{InputView, IoError, RelayView, Reloaded};
