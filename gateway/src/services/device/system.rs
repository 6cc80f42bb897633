//! SystemReboot: answered first, with what will happen and when; then, a moment later so
//! the answer reaches the client, the device stops through its one clean shutdown path and
//! the host backend's plan runs (`none` and `sandbox`: railgate starts itself again, the
//! host is not rebooted).

use std::time::Duration;

use crate::device::lifecycle::Exit;
use crate::host::backend::RebootPlan;
use crate::services::{Ctx, OpResult};
use crate::xml::{Element, XmlWriter};

/// How long after its answer SystemReboot begins the stop.
const REBOOT_DELAY: Duration = Duration::from_secs(1);

pub(super) async fn system_reboot(ctx: &Ctx, _req: &Element) -> OpResult {
    let message = match ctx.app.host.reboot_plan() {
        RebootPlan::RestartRailgate => format!(
            "railgate restarts in {} s (host.backend {}: the host itself is not rebooted) and answers again within about 10 s",
            REBOOT_DELAY.as_secs(),
            ctx.app.host.kind().name()
        ),
    };
    tracing::warn!(by = ctx.principal.log_name(), "SystemReboot: {message}");
    let app = ctx.app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(REBOOT_DELAY).await;
        app.lifecycle.request(Exit::Restart);
    });
    let mut w = XmlWriter::new();
    w.with("tds:SystemRebootResponse", &[], |w| {
        w.leaf("tds:Message", &message);
    });
    Ok(w.finish())
}
