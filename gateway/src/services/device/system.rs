//! SystemReboot and SetSystemFactoryDefault: answered first; then, a moment later so the
//! answer reaches the client, the device stops through its one clean shutdown path, the data
//! folder is reset if asked (`state::factory`), and the host backend's plan runs (`none` and
//! `sandbox`: railgate starts itself again, the host is not rebooted).

use super::host_fault;
use crate::device::lifecycle::{ANSWER_DELAY, Exit, FactoryDefault};
use crate::host::backend::RebootPlan;
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::TDS;
use crate::xml::{Element, XmlWriter};

pub(super) async fn system_reboot(ctx: &Ctx, _req: &Element) -> OpResult {
    let (message, exit) = match ctx.app.host.reboot_plan() {
        RebootPlan::RestartRailgate => (
            format!(
                "railgate restarts in {} s (host.backend {}: the host itself is not rebooted) and answers again within about 10 s",
                ANSWER_DELAY.as_secs(),
                ctx.app.host.kind().name()
            ),
            Exit::Restart,
        ),
        RebootPlan::RebootHost => (
            format!(
                "railgate stops in {} s, then the host reboots; it answers again once the host is up (usually within 2 minutes)",
                ANSWER_DELAY.as_secs()
            ),
            Exit::RebootHost,
        ),
    };
    tracing::warn!(by = ctx.principal.log_name(), "SystemReboot: {message}");
    ctx.app.lifecycle.request_after_answer(exit);
    let mut w = XmlWriter::new();
    w.with("tds:SystemRebootResponse", &[], |w| {
        w.leaf("tds:Message", &message);
    });
    Ok(w.finish())
}

pub(super) async fn set_system_factory_default(ctx: &Ctx, req: &Element) -> OpResult {
    let kind = match required_text(req, TDS, "FactoryDefault")? {
        "Soft" => FactoryDefault::Soft,
        "Hard" => FactoryDefault::Hard,
        other => {
            return Err(SoapFault::invalid_args(format!(
                "FactoryDefault {other:?} is not Hard or Soft"
            )));
        }
    };
    if ctx.app.lifecycle.requested().is_some() {
        return Err(SoapFault::operation_prohibited(
            None,
            "a restart is already under way",
        ));
    }
    if kind == FactoryDefault::Hard {
        ctx.app.host.reset_to_factory().await.map_err(host_fault)?;
    }
    tracing::warn!(
        ?kind,
        by = ctx.principal.log_name(),
        "SetSystemFactoryDefault: resetting and restarting in 1 s"
    );
    ctx.app
        .lifecycle
        .request_after_answer(Exit::FactoryDefault(kind));
    Ok("<tds:SetSystemFactoryDefaultResponse/>".into())
}
