//! Digital inputs and relay outputs.

use std::time::Duration;

use crate::model::{IdleStateSpec, InputSpec, PointFields, RelayModeSpec, RelaySpec};
use crate::plan::{IdleState, InputPoint, RelayMode, RelayPoint};

use railgate_adapters::PointId;

use super::points::{self, Addr, AddrError, BitRule, Claim, ClaimKind, Span};
use super::report::Here;
use super::{Compiler, Scope, TokenKind, checked_name};

/// Longest ONVIF ReferenceToken.
pub(super) const MAX_TOKEN: usize = 64;
/// Longest debounce or monostable delay accepted.
const MAX_HOLD: Duration = Duration::from_secs(3600);

pub(super) fn idle(spec: Option<IdleStateSpec>) -> IdleState {
    match spec {
        Some(IdleStateSpec::Closed) => IdleState::Closed,
        Some(IdleStateSpec::Open) | None => IdleState::Open,
    }
}

impl Compiler {
    /// Checks a token or name (with the scope's prefix); None when unusable.
    pub(super) fn scoped_name(
        &mut self,
        scope: &Scope,
        here: &Here,
        sub: &str,
        raw: &str,
    ) -> Option<String> {
        match checked_name(raw, &scope.prefix, MAX_TOKEN) {
            Ok(name) => Some(name),
            Err((true, message)) => {
                if let Some(inst) = scope.inst {
                    self.rep.instance(
                        &self.instances,
                        inst,
                        format!("the token prefix makes names longer than {MAX_TOKEN} characters"),
                        format!("`{raw}`"),
                    );
                } else {
                    self.rep.value(&self.docs, here, sub, message);
                }
                None
            }
            Err((false, message)) => {
                self.rep.value(&self.docs, here, sub, message);
                None
            }
        }
    }

    /// Resolves an item's point, reporting problems; `sub` prefixes the address keys (for
    /// `read_back`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn point(
        &mut self,
        scope: &Scope,
        here: &Here,
        ctrl: usize,
        fields: &PointFields,
        sub: &str,
        count: u16,
        rule: BitRule,
        label: &str,
    ) -> Option<(Addr, String)> {
        let base = scope
            .base
            .or_else(|| self.ctrls.get(ctrl).map(|c| c.base))
            .unwrap_or(0);
        match points::resolve(fields, base, scope.offset, count, rule) {
            Ok((addr, key)) => {
                if let Some((key, message)) = points::modicon_warning(fields, base) {
                    self.rep
                        .warn(&self.docs, here, &format!("{sub}/{key}"), message);
                }
                Some((addr, format!("{sub}/{key}")))
            }
            Err(e) => {
                self.address_error(scope, here, sub, e, label);
                None
            }
        }
    }

    fn address_error(&mut self, scope: &Scope, here: &Here, sub: &str, e: AddrError, label: &str) {
        match (e.by_offset, scope.inst) {
            (true, Some(inst)) => self.rep.instance(
                &self.instances,
                inst,
                format!(
                    "`address_offset: {}` moves points beyond the Modbus address range",
                    scope.offset
                ),
                format!("`{label}`"),
            ),
            _ => self
                .rep
                .value(&self.docs, here, &format!("{sub}{}", e.sub), e.message),
        }
    }

    /// One item's use of one point, the same for every kind of item: records that item
    /// `owner` (labelled `label`, at `here` + `sub`) uses the bits `span` covers from `addr`
    /// (overlaps are judged once every item is in), and registers the point with controller
    /// `ctrl`'s list, writable when `kind` writes and polled when it reads. Returns the controller's name and the
    /// point's id; None when `ctrl` is no controller.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn use_point(
        &mut self,
        ctrl: usize,
        addr: Addr,
        span: Span,
        kind: ClaimKind,
        owner: usize,
        label: &str,
        here: &Here,
        sub: &str,
    ) -> Option<(String, PointId)> {
        for (address, mask) in points::masks(addr, span.count, span.field, span.order) {
            self.claims.push(Claim {
                ctrl,
                table: addr.table,
                address,
                mask,
                kind,
                owner,
                label: label.to_string(),
                here: here.clone(),
                sub: sub.to_string(),
                partial: addr.bit.is_some() || (!addr.table.is_bits() && mask != u16::MAX),
            });
        }
        let name = self.ctrls.get(ctrl).map(|c| c.name.clone())?;
        let point = self.points.add(ctrl, &name, addr, span.count, kind);
        Some((name, point))
    }

    /// Checks a duration is at most an hour.
    fn hold_time(&mut self, here: &Here, sub: &str, d: Duration, what: &str) -> Duration {
        if d > MAX_HOLD {
            self.rep.value(
                &self.docs,
                here,
                sub,
                format!("a {what} over 1h is surely a mistake"),
            );
        }
        d
    }

    /// A digital input.
    pub(super) fn input(&mut self, scope: &Scope, pointer: &str, spec: &InputSpec) {
        let here = Here {
            doc: scope.doc,
            pointer: pointer.to_string(),
            inst: scope.inst,
        };
        let token = self.scoped_name(scope, &here, "/token", &spec.token);
        let label = token.clone().unwrap_or_else(|| spec.token.clone());
        let debounce = spec.debounce.map_or(Duration::ZERO, |d| {
            self.hold_time(&here, "/debounce", d.0, "debounce")
        });
        let Some(ctrl) = self.controller_for(scope, &here, spec.controller.as_deref()) else {
            return;
        };
        let fields = spec.point_fields();
        let point = self.point(
            scope,
            &here,
            ctrl,
            &fields,
            "",
            1,
            BitRule::Required,
            &label,
        );
        let Some(token) = token else {
            return;
        };
        self.claim_token(TokenKind::Input, &token, &here, "/token", &spec.token);
        let Some((addr, sub)) = point else {
            return;
        };
        let owner = self.owner();
        let Some((name, point)) = self.use_point(
            ctrl,
            addr,
            Span::SINGLE,
            ClaimKind::Input,
            owner,
            &token,
            &here,
            &sub,
        ) else {
            return;
        };
        self.plan.inputs.push(InputPoint {
            token,
            controller: name,
            point,
            invert: spec.invert.unwrap_or(false),
            debounce,
            idle_state: idle(spec.idle_state),
        });
    }

    /// A relay output.
    pub(super) fn relay(&mut self, scope: &Scope, pointer: &str, spec: &RelaySpec) {
        let here = Here {
            doc: scope.doc,
            pointer: pointer.to_string(),
            inst: scope.inst,
        };
        let token = self.scoped_name(scope, &here, "/token", &spec.token);
        let label = token.clone().unwrap_or_else(|| spec.token.clone());
        let mode = match spec.mode {
            Some(RelayModeSpec::Monostable) => RelayMode::Monostable,
            Some(RelayModeSpec::Bistable) | None => RelayMode::Bistable,
        };
        let delay = match (mode, spec.delay) {
            (RelayMode::Monostable, Some(d)) if d.0.is_zero() => {
                self.rep.value(
                    &self.docs,
                    &here,
                    "/delay",
                    "a monostable relay needs a delay above zero",
                );
                Duration::ZERO
            }
            (RelayMode::Monostable, Some(d)) => self.hold_time(&here, "/delay", d.0, "relay delay"),
            (RelayMode::Monostable, None) => {
                self.rep.key(
                    &self.docs,
                    &here,
                    "/mode",
                    "a monostable relay returns to idle after `delay`: add e.g. `delay: 2s`",
                );
                Duration::ZERO
            }
            (RelayMode::Bistable, Some(_)) => {
                self.rep.key(
                    &self.docs,
                    &here,
                    "/delay",
                    "`delay` applies to `mode: monostable`; a bistable relay stays where it is set",
                );
                Duration::ZERO
            }
            (RelayMode::Bistable, None) => Duration::ZERO,
        };
        let Some(ctrl) = self.controller_for(scope, &here, spec.controller.as_deref()) else {
            return;
        };
        let read_only = [
            ("discrete_input", spec.discrete_input, "discrete input"),
            ("input_register", spec.input_register, "input register"),
        ]
        .into_iter()
        .find(|(_, a, _)| a.is_some());
        let point = match read_only {
            Some((key, _, words)) => {
                self.rep.key(
                    &self.docs,
                    &here,
                    &format!("/{key}"),
                    format!(
                        "a relay cannot be on {}: that table is read-only (a relay writes a `coil` or a `holding_register` bit; {} can be its `read_back`)",
                        points::a(words),
                        points::a(words)
                    ),
                );
                None
            }
            None => {
                let fields = spec.point_fields();
                self.point(
                    scope,
                    &here,
                    ctrl,
                    &fields,
                    "",
                    1,
                    BitRule::Required,
                    &label,
                )
            }
        };
        let read_back = spec.read_back.as_ref().and_then(|rb| {
            let fields = rb.point_fields();
            self.point(
                scope,
                &here,
                ctrl,
                &fields,
                "/read_back",
                1,
                BitRule::Required,
                &label,
            )
        });
        let Some(token) = token else {
            return;
        };
        self.claim_token(TokenKind::Relay, &token, &here, "/token", &spec.token);
        let Some((addr, sub)) = point else {
            return;
        };
        if spec.read_back.is_some() && read_back.is_none() {
            return;
        }
        let owner = self.owner();
        let Some((name, write)) = self.use_point(
            ctrl,
            addr,
            Span::SINGLE,
            ClaimKind::RelayWrite,
            owner,
            &token,
            &here,
            &sub,
        ) else {
            return;
        };
        let read = match read_back {
            Some((rb, rb_sub)) if rb != addr => {
                let Some((_, read)) = self.use_point(
                    ctrl,
                    rb,
                    Span::SINGLE,
                    ClaimKind::ReadBack,
                    owner,
                    &token,
                    &here,
                    &rb_sub,
                ) else {
                    return;
                };
                read
            }
            _ => write.clone(),
        };
        self.plan.relays.push(RelayPoint {
            token,
            controller: name,
            write,
            read,
            invert: spec.invert.unwrap_or(false),
            mode,
            delay,
            idle_state: idle(spec.idle_state),
        });
    }
}
