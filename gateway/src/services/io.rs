//! Relay outputs, digital inputs and auxiliary commands: the operations the device service
//! and the device I/O service share (same tokens on both, as Genius Vision and others expect),
//! and the ones only DeviceIO has.

use std::time::Duration;

use railgate_mappings::plan::{IdleState, RelayMode};

use crate::events::time::parse_duration;
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::southbound::settings::RelaySettings;
use crate::southbound::{IoError, RelayView};
use crate::xml::ns::{TDS, TMD, TT};
use crate::xml::{Element, XmlWriter};

/// Longest monostable delay railgate accepts (and offers in GetRelayOutputOptions).
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

impl From<IoError> for SoapFault {
    fn from(e: IoError) -> SoapFault {
        match e {
            IoError::UnknownRelay(t) => {
                SoapFault::invalid_arg_val(Some("ter:RelayToken"), format!("no relay output {t:?}"))
            }
            IoError::UnknownInput(t) => {
                SoapFault::invalid_arg_val(Some("ter:NoConfig"), format!("no digital input {t:?}"))
            }
            IoError::UnknownCommand(c) => SoapFault::invalid_arg_val(
                Some("ter:AuxiliaryDataNotSupported"),
                format!("no auxiliary command {c:?}"),
            ),
            IoError::UnknownSerialPort(t) => SoapFault::invalid_arg_val(
                Some("ter:InvalidSerialPort"),
                format!("no serial port {t:?}"),
            ),
            e @ IoError::SerialReadOnly { .. } => {
                SoapFault::operation_prohibited(None, e.to_string())
            }
            IoError::SerialSettings { token, reason } => SoapFault::invalid_arg_val(
                Some("ter:ConfigModify"),
                format!("serial port {token:?}: {reason}"),
            ),
            e @ IoError::SerialFailed { .. } => {
                tracing::warn!(error = %e, "a serial port exchange failed");
                SoapFault::action_failed(None, "the serial port is not available")
            }
            IoError::State(e) => {
                tracing::error!(error = %e, "cannot store a setting");
                SoapFault::action_failed(None, "the setting could not be stored")
            }
            // The controller is unreachable or refused, or the gateway is stopping: the
            // device could not do it. The client gets a short reason that never changes with
            // the controller's words; which controller and what it said go to the log.
            e @ (IoError::LinkDown(_)
            | IoError::Refused { .. }
            | IoError::Timeout(_)
            | IoError::Stopping) => {
                tracing::warn!(error = %e, "a write to a controller failed");
                SoapFault::action_failed(None, write_failure_reason(&e))
            }
        }
    }
}

/// The stable reason a client reads for a write the controller side could not do.
fn write_failure_reason(e: &IoError) -> &'static str {
    match e {
        IoError::LinkDown(_) => "the controller is not connected",
        IoError::Refused { .. } => "the controller refused the write",
        IoError::Timeout(_) => "the controller did not acknowledge the write in time",
        _ => "the gateway is stopping",
    }
}

/// The point id a relay writes, an input reads or a command writes, for log lines
/// (`point=panel/coil/3`): the README promises point ids in the log.
fn point_of(ctx: &Ctx, token: &str, what: Kind) -> Option<String> {
    let plan = ctx.app.io.plan();
    match what {
        Kind::Relay => plan
            .relays
            .iter()
            .find(|r| r.token == token)
            .map(|r| r.write.to_string()),
        Kind::Input => plan
            .inputs
            .iter()
            .find(|i| i.token == token)
            .map(|i| i.point.to_string()),
        Kind::Command => plan
            .commands
            .iter()
            .find(|c| c.command == token)
            .map(|c| c.point.to_string()),
    }
}

/// What [`point_of`] looks up.
#[derive(Clone, Copy)]
enum Kind {
    Relay,
    Input,
    Command,
}

fn mode_str(m: RelayMode) -> &'static str {
    match m {
        RelayMode::Monostable => "Monostable",
        RelayMode::Bistable => "Bistable",
    }
}

/// An xs:duration for a delay, with milliseconds when it has them (`PT0.5S`).
pub fn delay_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("PT{}S", ms / 1000)
    } else {
        let fraction = format!("{:03}", ms % 1000);
        format!("PT{}.{}S", ms / 1000, fraction.trim_end_matches('0'))
    }
}

/// Writes a relay as `tag` (a tt:RelayOutput: `tds:RelayOutputs` in GetRelayOutputsResponse).
fn write_relay(w: &mut XmlWriter, tag: &str, r: &RelayView) {
    w.with(tag, &[("token", &r.token)], |w| {
        w.with("tt:Properties", &[], |w| {
            w.leaf("tt:Mode", mode_str(r.settings.mode));
            w.leaf("tt:DelayTime", &delay_duration(r.settings.delay()));
            w.leaf("tt:IdleState", r.settings.idle.as_str());
        });
    });
}

/// The prefix of the namespace a relay request used: the WSDL puts GetRelayOutputs and
/// SetRelayOutputState in `tds` on both services, and some clients (onveef among them) send
/// them in `tmd` to the device I/O endpoint; either way the response is in the request's
/// namespace, with the same content.
fn relay_prefix(req: &Element) -> &'static str {
    if &*req.ns == TMD { "tmd" } else { "tds" }
}

/// GetRelayOutputs (device and device I/O service; `tds`, or `tmd` as some clients send it).
pub(super) async fn get_relay_outputs(ctx: &Ctx, req: &Element) -> OpResult {
    let p = relay_prefix(req);
    let mut w = XmlWriter::new();
    w.with(&format!("{p}:GetRelayOutputsResponse"), &[], |w| {
        let tag = format!("{p}:RelayOutputs");
        for r in ctx.app.io.relays() {
            write_relay(w, &tag, &r);
        }
    });
    Ok(w.finish())
}

/// SetRelayOutputState (device and device I/O service; `tds`, or `tmd` as some clients send
/// it): answered once the controller acknowledged the write.
pub(super) async fn set_relay_output_state(ctx: &Ctx, req: &Element) -> OpResult {
    let token = required_text(req, &req.ns, "RelayOutputToken")?;
    let state = required_text(req, &req.ns, "LogicalState")?;
    let active = match state {
        "active" => true,
        "inactive" => false,
        other => {
            return Err(SoapFault::invalid_args(format!(
                "LogicalState {other:?} is neither active nor inactive"
            )));
        }
    };
    if !ctx.app.io.has_relay(token) {
        return Err(IoError::UnknownRelay(token.to_string()).into());
    }
    ctx.app.io.set_relay_state(token, active).await?;
    tracing::info!(
        relay = token,
        point = point_of(ctx, token, Kind::Relay).as_deref(),
        state,
        by = ctx.principal.log_name(),
        "relay set"
    );
    Ok(format!(
        "<{}:SetRelayOutputStateResponse/>",
        relay_prefix(req)
    ))
}

/// Reads a tt:RelayOutputSettings element (children in the tt namespace).
fn read_settings(properties: &Element) -> Result<RelaySettings, SoapFault> {
    let mode = match required_text(properties, TT, "Mode")? {
        "Monostable" => RelayMode::Monostable,
        "Bistable" => RelayMode::Bistable,
        other => {
            return Err(SoapFault::invalid_arg_val(
                None,
                format!("Mode {other:?} is neither Monostable nor Bistable"),
            ));
        }
    };
    let delay_text = required_text(properties, TT, "DelayTime")?;
    let delay = parse_duration(delay_text).ok_or_else(|| {
        SoapFault::invalid_args(format!("DelayTime {delay_text:?} is not an xs:duration"))
    })?;
    if mode == RelayMode::Monostable && (delay.is_zero() || delay > MAX_DELAY) {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:ModeError"),
            format!(
                "a monostable DelayTime must be more than 0 and at most {} s",
                MAX_DELAY.as_secs()
            ),
        ));
    }
    let idle = match required_text(properties, TT, "IdleState")? {
        "open" => IdleState::Open,
        "closed" => IdleState::Closed,
        other => {
            return Err(SoapFault::invalid_arg_val(
                None,
                format!("IdleState {other:?} is neither open nor closed"),
            ));
        }
    };
    Ok(RelaySettings {
        mode,
        delay_ms: delay.as_millis().min(u64::MAX as u128) as u64,
        idle,
    })
}

async fn apply_settings(ctx: &Ctx, token: &str, settings: RelaySettings) -> Result<(), SoapFault> {
    ctx.app.io.set_relay_settings(token, settings).await?;
    tracing::info!(
        relay = token,
        point = point_of(ctx, token, Kind::Relay).as_deref(),
        mode = mode_str(settings.mode),
        delay_ms = settings.delay_ms,
        idle = settings.idle.as_str(),
        by = ctx.principal.log_name(),
        "relay settings changed"
    );
    Ok(())
}

/// SetRelayOutputSettings in the device service's form, `tds:RelayOutputToken` +
/// `tds:Properties` (on the device I/O endpoint too, where some clients send it).
pub(super) async fn set_relay_output_settings_tds(ctx: &Ctx, req: &Element) -> OpResult {
    let token = required_text(req, TDS, "RelayOutputToken")?;
    let properties = req
        .child(TDS, "Properties")
        .ok_or_else(|| SoapFault::missing_tag("Properties is required"))?;
    if !ctx.app.io.has_relay(token) {
        return Err(IoError::UnknownRelay(token.to_string()).into());
    }
    apply_settings(ctx, token, read_settings(properties)?).await?;
    Ok("<tds:SetRelayOutputSettingsResponse/>".into())
}

/// SetRelayOutputSettings of the device I/O service: a `tmd:RelayOutput` (tt:RelayOutput).
pub(super) async fn set_relay_output_settings_tmd(ctx: &Ctx, req: &Element) -> OpResult {
    let relay = req
        .child(TMD, "RelayOutput")
        .ok_or_else(|| SoapFault::missing_tag("RelayOutput is required"))?;
    let token = relay
        .attr("", "token")
        .ok_or_else(|| SoapFault::missing_attr("RelayOutput/@token is required"))?;
    let properties = relay
        .child(TT, "Properties")
        .ok_or_else(|| SoapFault::missing_tag("RelayOutput/Properties is required"))?;
    if !ctx.app.io.has_relay(token) {
        return Err(IoError::UnknownRelay(token.to_string()).into());
    }
    apply_settings(ctx, token, read_settings(properties)?).await?;
    Ok("<tmd:SetRelayOutputSettingsResponse/>".into())
}

/// GetRelayOutputOptions (device I/O): both modes, and monostable delays from 1 ms to
/// [`MAX_DELAY`] as a range.
pub(super) async fn get_relay_output_options(ctx: &Ctx, req: &Element) -> OpResult {
    let wanted = req.child(TMD, "RelayOutputToken").map(Element::text_trim);
    if let Some(t) = wanted
        && !ctx.app.io.has_relay(t)
    {
        return Err(IoError::UnknownRelay(t.to_string()).into());
    }
    let max = MAX_DELAY.as_secs().to_string();
    let mut w = XmlWriter::new();
    w.with("tmd:GetRelayOutputOptionsResponse", &[], |w| {
        for r in ctx.app.io.relays() {
            if wanted.is_some_and(|t| t != r.token) {
                continue;
            }
            w.with("tmd:RelayOutputOptions", &[("token", &r.token)], |w| {
                w.leaf("tmd:Mode", "Monostable");
                w.leaf("tmd:Mode", "Bistable");
                w.leaf("tmd:DelayTimes", &format!("0.001 {max}"));
                w.leaf("tmd:Discrete", "false");
            });
        }
    });
    Ok(w.finish())
}

/// GetDigitalInputs (device I/O).
pub(super) async fn get_digital_inputs(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tmd:GetDigitalInputsResponse", &[], |w| {
        for i in ctx.app.io.inputs() {
            w.empty(
                "tmd:DigitalInputs",
                &[("token", &i.token), ("IdleState", i.idle.as_str())],
            );
        }
    });
    Ok(w.finish())
}

/// GetDigitalInputConfigurationOptions (device I/O): every input can be either.
pub(super) async fn get_digital_input_configuration_options(ctx: &Ctx, req: &Element) -> OpResult {
    if let Some(t) = req.child(TMD, "Token").map(Element::text_trim)
        && !ctx.app.io.has_input(t)
    {
        return Err(IoError::UnknownInput(t.to_string()).into());
    }
    Ok("<tmd:GetDigitalInputConfigurationOptionsResponse><tmd:DigitalInputOptions><tmd:IdleState>closed</tmd:IdleState><tmd:IdleState>open</tmd:IdleState></tmd:DigitalInputOptions></tmd:GetDigitalInputConfigurationOptionsResponse>".into())
}

/// SetDigitalInputConfigurations (device I/O): all or nothing — every token and value is
/// checked before any is applied.
pub(super) async fn set_digital_input_configurations(ctx: &Ctx, req: &Element) -> OpResult {
    let mut changes = Vec::new();
    for input in req.children_named(TMD, "DigitalInputs") {
        let token = input
            .attr("", "token")
            .ok_or_else(|| SoapFault::missing_attr("DigitalInputs/@token is required"))?;
        if !ctx.app.io.has_input(token) {
            return Err(IoError::UnknownInput(token.to_string()).into());
        }
        let idle = match input.attr("", "IdleState") {
            Some("open") => IdleState::Open,
            Some("closed") => IdleState::Closed,
            Some(other) => {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:SettingsInvalid"),
                    format!("{token}: IdleState {other:?} is neither open nor closed"),
                ));
            }
            // Nothing to change for this input.
            None => continue,
        };
        changes.push((token, idle));
    }
    if req.children_named(TMD, "DigitalInputs").next().is_none() {
        return Err(SoapFault::missing_tag("DigitalInputs is required"));
    }
    for (token, idle) in changes {
        ctx.app.io.set_input_idle(token, idle).await?;
        tracing::info!(
            input = token,
            point = point_of(ctx, token, Kind::Input).as_deref(),
            idle = idle.as_str(),
            by = ctx.principal.log_name(),
            "digital input configured"
        );
    }
    Ok("<tmd:SetDigitalInputConfigurationsResponse/>".into())
}

/// SendAuxiliaryCommand (device service): answered once the controller acknowledged.
pub(super) async fn send_auxiliary_command(ctx: &Ctx, req: &Element) -> OpResult {
    let command = required_text(req, TDS, "AuxiliaryCommand")?;
    ctx.app.io.send_command(command).await?;
    tracing::info!(
        command,
        point = point_of(ctx, command, Kind::Command).as_deref(),
        by = ctx.principal.log_name(),
        "auxiliary command sent"
    );
    let mut w = XmlWriter::new();
    w.with("tds:SendAuxiliaryCommandResponse", &[], |w| {
        w.leaf("tds:AuxiliaryCommandResponse", command);
    });
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_render_as_durations() {
        assert_eq!(delay_duration(Duration::from_secs(5)), "PT5S");
        assert_eq!(delay_duration(Duration::ZERO), "PT0S");
        assert_eq!(delay_duration(Duration::from_millis(1500)), "PT1.5S");
        assert_eq!(delay_duration(Duration::from_millis(250)), "PT0.25S");
        assert_eq!(delay_duration(Duration::from_millis(1001)), "PT1.001S");
        for ms in [1u64, 250, 999, 1000, 1500, 61_001] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&delay_duration(d)), Some(d), "{ms} ms");
        }
    }

    #[test]
    fn serial_port_errors_pick_the_standard_faults() {
        let text = |e: IoError| format!("{:?}", SoapFault::from(e));
        let unknown = text(IoError::UnknownSerialPort("P9".into()));
        assert!(
            unknown.contains("ter:InvalidArgVal") && unknown.contains("ter:InvalidSerialPort"),
            "{unknown}"
        );
        let settings = text(IoError::SerialSettings {
            token: "P1".into(),
            reason: "data bits must be 5 to 8, not 9".into(),
        });
        assert!(settings.contains("ter:ConfigModify"), "{settings}");
        let read_only = text(IoError::SerialReadOnly {
            token: "BUS".into(),
            why: "it is the serial line of Modbus controller panel".into(),
        });
        assert!(read_only.contains("ter:OperationProhibited"), "{read_only}");
        // The device path and the OS error stay in the log.
        let failed = text(IoError::SerialFailed {
            token: "P1".into(),
            reason: "/dev/ttyUSB1: Input/output error (os error 5)".into(),
        });
        assert!(
            failed.contains("the serial port is not available") && !failed.contains("ttyUSB1"),
            "{failed}"
        );
    }

    #[test]
    fn controller_failures_reach_clients_as_short_stable_reasons() {
        let refused = IoError::Refused {
            controller: "panel".into(),
            reason: "IllegalDataAddress (exception 0x02) at 10.0.0.5:502".into(),
        };
        let text = format!("{:?}", SoapFault::from(refused));
        assert!(text.contains("the controller refused the write"), "{text}");
        assert!(
            !text.contains("IllegalDataAddress") && !text.contains("10.0.0.5"),
            "{text}"
        );
        for (e, want) in [
            (
                IoError::LinkDown("panel".into()),
                "the controller is not connected",
            ),
            (IoError::Timeout("panel".into()), "did not acknowledge"),
            (IoError::Stopping, "the gateway is stopping"),
        ] {
            let text = format!("{:?}", SoapFault::from(e));
            assert!(text.contains(want) && !text.contains("\"panel\""), "{text}");
        }
    }
}
