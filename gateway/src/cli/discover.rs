//! `railgate discover`: a WS-Discovery probe, and what answered.

use std::process::ExitCode;
use std::time::Duration;

use railgate::discovery::client::{self, ProbeTo};
use railgate::discovery::socket::Selection;

use super::out::{self, OutError};
use super::{EX_SOFTWARE, EX_UNAVAILABLE, EX_USAGE, runtime};

/// Probes (multicast through `interfaces`, or directed `to` an address), waits `timeout`
/// seconds, prints each device that answered.
pub(crate) fn run(
    timeout: u64,
    to: Option<&str>,
    interfaces: &[String],
) -> Result<ExitCode, OutError> {
    let target = match to {
        Some(text) => match client::directed_address(text) {
            Some(addr) => ProbeTo::Directed(addr),
            None => {
                out::note(format_args!(
                    "railgate discover: --to {text:?} is not an address (host or host:port)"
                ));
                return Ok(ExitCode::from(EX_USAGE));
            }
        },
        None => {
            let host = match railgate::host::net::interfaces() {
                Ok(h) => h,
                Err(e) => {
                    out::note(format_args!(
                        "railgate discover: cannot list the interfaces: {e}"
                    ));
                    return Ok(ExitCode::from(EX_SOFTWARE));
                }
            };
            let selection = if interfaces.is_empty() {
                Selection::All
            } else {
                Selection::parse(interfaces)
            };
            let (picked, missing) = selection.pick(&host);
            for m in missing {
                out::note(format_args!(
                    "railgate discover: no interface {m:?} that is up"
                ));
            }
            ProbeTo::Multicast(picked)
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    match runtime.block_on(client::discover(&target, Duration::from_secs(timeout))) {
        Ok(found) => {
            for f in &found {
                out::line(client::describe(f))?;
            }
            out::note(format_args!("{} ONVIF device(s) answered", found.len()));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            out::note(format_args!("railgate discover: {e}"));
            Ok(ExitCode::from(EX_UNAVAILABLE))
        }
    }
}
