//! The event service (`tev`), at `/onvif/event_service`, and its pull points at
//! `/onvif/event_service/pull/<id>`: GetServiceCapabilities, GetEventProperties,
//! CreatePullPointSubscription, PullMessages, Renew, Unsubscribe, SetSynchronizationPoint,
//! Seek.
//!
//! Requests on a subscription act for the principal the gate authenticated
//! ([`caller`]): another principal's subscription answers `wsrf-r:ResourceUnknownFault`, as
//! an unknown one does; Administrators manage all. Subscription references and consumer
//! addresses are logged at DEBUG only.

use std::sync::Arc;

use chrono::Utc;

use crate::events::filter::content::{self, ContentFilter};
use crate::events::filter::topic::{self, TopicFilter};
use crate::events::render::write_notification;
use crate::events::store::{StoreError, StoreErrorKind};
use crate::events::subscription::{Caller, Filter, Subscription, SubscriptionError};
use crate::events::time::{duration, parse_duration, parse_termination, utc};
use crate::security::{Principal, UserLevel};
use crate::services::{Ctx, OpResult, parse_bool};
use crate::soap::SoapFault;
use crate::soap::fault::StorageFailure;
use crate::xml::ns::{TEV, WSNT};
use crate::xml::{Element, XmlWriter};

crate::services::operations! {
    TEV "GetServiceCapabilities" => get_service_capabilities,
    TEV "GetEventProperties" => get_event_properties,
    TEV "CreatePullPointSubscription" => create_pull_point_subscription,
    TEV "PullMessages" => pull_messages,
    TEV "SetSynchronizationPoint" => set_synchronization_point,
    TEV "Seek" => seek,
    WSNT "Subscribe" => subscribe,
    WSNT "Renew" => renew,
    WSNT "Unsubscribe" => unsubscribe,
}

const WSNT_CREATION_FAILED: &str = "wsnt:SubscribeCreationFailedFault";

impl From<SubscriptionError> for SoapFault {
    fn from(e: SubscriptionError) -> SoapFault {
        match e {
            SubscriptionError::Unknown => SoapFault::notification(
                "wsrf-r:ResourceUnknownFault",
                "no such subscription, or it has expired",
                "",
            ),
            e @ SubscriptionError::TooMany { .. } => {
                SoapFault::notification(WSNT_CREATION_FAILED, e.to_string(), "")
            }
            SubscriptionError::TerminationInPast => {
                termination_fault("wsnt:UnacceptableTerminationTimeFault")
            }
            // Core gives PullMessages no specific fault: the generic "action failed". Not an
            // empty answer, which a client would read as "no events".
            e @ SubscriptionError::Superseded => SoapFault::action_failed(None, e.to_string()),
            SubscriptionError::Store(e) => store_fault(&e),
        }
    }
}

/// The fault a client gets when the event store cannot serve its request (see
/// [`SoapFault::storage`]); what exactly failed goes to the log.
pub(crate) fn store_fault(e: &StoreError) -> SoapFault {
    let failure = match e.kind() {
        StoreErrorKind::DiskFull => StorageFailure::Full,
        StoreErrorKind::Corrupt => StorageFailure::Damaged,
        StoreErrorKind::Closed => StorageFailure::Stopped,
        StoreErrorKind::Io | StoreErrorKind::TooNew | StoreErrorKind::Other => {
            StorageFailure::Failed
        }
    };
    if e.kind() == StoreErrorKind::Closed {
        tracing::info!(error = %e, "event request refused: the event store is closed");
    } else {
        tracing::error!(kind = %e.kind(), sqlite_code = e.sqlite_code(), path = ?e.path(), error = %e, "event request failed: the event store failed");
    }
    SoapFault::storage(failure)
}

/// The Unacceptable(Initial)TerminationTime fault, carrying the acceptable range.
fn termination_fault(element: &'static str) -> SoapFault {
    let now = Utc::now();
    let children = format!(
        "<wsnt:MinimumTime>{}</wsnt:MinimumTime><wsnt:MaximumTime>{}</wsnt:MaximumTime>",
        utc(now + chrono::Duration::seconds(1)),
        utc(now + chrono::Duration::days(1))
    );
    SoapFault::notification(element, "the termination time is not acceptable", &children)
}

/// The principal a request on subscriptions acts for.
pub(crate) fn caller(ctx: &Ctx) -> Caller {
    caller_of(&ctx.principal)
}

/// Administrators manage every subscription; everyone else (anonymous included, as one
/// principal) only their own.
fn caller_of(principal: &Principal) -> Caller {
    match principal.level {
        UserLevel::Administrator => Caller {
            name: principal.username.clone(),
            admin: true,
        },
        UserLevel::Operator | UserLevel::User | UserLevel::Anonymous => {
            Caller::user(principal.username.as_deref())
        }
    }
}

fn subscription(ctx: &Ctx) -> Result<Arc<Subscription>, SoapFault> {
    let id = ctx
        .subscription
        .as_deref()
        .ok_or(SubscriptionError::Unknown)?;
    Ok(ctx.app.subscriptions.get(id, &caller(ctx))?)
}

/// Reads a wsnt:FilterType element into a filter.
pub(crate) fn read_filter(
    filter: Option<&Element>,
    changed_only: bool,
) -> Result<Filter, SoapFault> {
    let mut out = Filter {
        changed_only,
        ..Filter::default()
    };
    let Some(filter) = filter else { return Ok(out) };
    for child in &filter.children {
        if child.is(WSNT, "TopicExpression") {
            out.topics
                .push(TopicFilter::from_element(child).map_err(|e| match e {
                    topic::TopicFilterError::UnknownDialect(_) => SoapFault::notification(
                        "wsnt:TopicExpressionDialectUnknownFault",
                        e.to_string(),
                        "",
                    ),
                    topic::TopicFilterError::Invalid(_) => SoapFault::notification(
                        "wsnt:InvalidTopicExpressionFault",
                        e.to_string(),
                        "",
                    ),
                })?);
        } else if child.is(WSNT, "MessageContent") {
            out.content.push(ContentFilter::from_element(child).map_err(
                |e: content::ContentFilterError| {
                    SoapFault::notification(
                        "wsnt:InvalidMessageContentExpressionFault",
                        e.to_string(),
                        "",
                    )
                },
            )?);
        } else {
            let unknown = format!(
                "<wsnt:UnknownFilter xmlns:uf=\"{}\">uf:{}</wsnt:UnknownFilter>",
                crate::xml::write::escape_attribute(&child.ns),
                child.name
            );
            return Err(SoapFault::notification(
                "wsnt:InvalidFilterFault",
                format!("unknown filter {}", child.name),
                &unknown,
            ));
        }
    }
    Ok(out)
}

/// The `tev:Capabilities` element (also inside GetServices with capabilities).
pub fn write_capabilities(ctx: &Ctx, w: &mut XmlWriter) {
    let limits = ctx.app.subscriptions.limits();
    w.empty(
        "tev:Capabilities",
        &[
            ("WSSubscriptionPolicySupport", "true"),
            ("WSPausableSubscriptionManagerInterfaceSupport", "false"),
            ("MaxNotificationProducers", &limits.max_push.to_string()),
            ("MaxPullPoints", &limits.max_pull_points.to_string()),
            ("PersistentNotificationStorage", "true"),
            ("MaxEventBrokers", "0"),
            ("MetadataOverMQTT", "false"),
        ],
    );
}

async fn get_service_capabilities(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tev:GetServiceCapabilitiesResponse", &[], |w| {
        write_capabilities(ctx, w)
    });
    Ok(w.finish())
}

async fn get_event_properties(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tev:GetEventPropertiesResponse", &[], |w| {
        w.leaf(
            "tev:TopicNamespaceLocation",
            "http://www.onvif.org/onvif/ver10/topics/topicns.xml",
        );
        w.leaf("wsnt:FixedTopicSet", "true");
        ctx.app.topics.write_topic_set(w);
        w.leaf("wsnt:TopicExpressionDialect", topic::CONCRETE);
        w.leaf("wsnt:TopicExpressionDialect", topic::CONCRETE_SET);
        w.leaf("tev:MessageContentFilterDialect", content::ITEM_FILTER);
        w.leaf(
            "tev:MessageContentSchemaLocation",
            "http://www.onvif.org/onvif/ver10/schema/onvif.xsd",
        );
    });
    Ok(w.finish())
}

/// What CreatePullPointSubscription (tev: children) and Subscribe (wsnt: children) share:
/// the filter, the `ChangedOnly` policy and the granted termination time.
fn subscription_request(
    ctx: &Ctx,
    req: &Element,
    ns: &str,
) -> Result<(Filter, chrono::DateTime<Utc>), SoapFault> {
    let now = Utc::now();
    let changed_only = req
        .child(ns, "SubscriptionPolicy")
        .is_some_and(|p| p.child(TEV, "ChangedOnly").is_some());
    let filter = read_filter(req.child(ns, "Filter"), changed_only)?;
    let requested = match req
        .child(ns, "InitialTerminationTime")
        .map(Element::text_trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(t) => Some(
            parse_termination(t, now)
                .ok_or_else(|| termination_fault("wsnt:UnacceptableInitialTerminationTimeFault"))?,
        ),
    };
    let termination = ctx
        .app
        .subscriptions
        .grant(requested, now)
        .map_err(|_| termination_fault("wsnt:UnacceptableInitialTerminationTimeFault"))?;
    Ok((filter, termination))
}

async fn create_pull_point_subscription(ctx: &Ctx, req: &Element) -> OpResult {
    let now = Utc::now();
    let (filter, termination) = subscription_request(ctx, req, TEV)?;
    let sub = ctx
        .app
        .subscriptions
        .create(filter, termination, &caller(ctx), None)
        .await?;
    tracing::debug!(subscription = %sub.id, user = ctx.principal.log_name(), peer = %ctx.peer, "pull point created");
    let mut w = XmlWriter::new();
    w.with("tev:CreatePullPointSubscriptionResponse", &[], |w| {
        w.with("tev:SubscriptionReference", &[], |w| {
            w.leaf(
                "wsa:Address",
                &format!("{}/onvif/event_service/pull/{}", ctx.base_url, sub.id),
            );
        });
        w.leaf("wsnt:CurrentTime", &utc(now));
        w.leaf("wsnt:TerminationTime", &utc(termination));
    });
    Ok(w.finish())
}

async fn subscribe(ctx: &Ctx, req: &Element) -> OpResult {
    let now = Utc::now();
    let consumer = req
        .child(WSNT, "ConsumerReference")
        .and_then(|c| c.child(crate::xml::ns::WSA, "Address"))
        .map(|a| a.text_trim().to_string())
        .ok_or_else(|| SoapFault::missing_tag("ConsumerReference/Address is required"))?;
    let (filter, termination) = subscription_request(ctx, req, WSNT)?;
    let mut consumer = ctx
        .app
        .consumer_policy
        .admit(&consumer)
        .await
        .map_err(|why| {
            tracing::debug!(consumer = %consumer, reason = %why, "consumer refused");
            SoapFault::notification(WSNT_CREATION_FAILED, why, "")
        })?;
    consumer.reference_parameters = reference_parameters(req);
    let sub = ctx
        .app
        .subscriptions
        .create(filter, termination, &caller(ctx), Some(consumer.clone()))
        .await?;
    let manager = format!(
        "{}/onvif/event_service/subscription/{}",
        ctx.base_url, sub.id
    );
    tokio::spawn(crate::events::push::deliver(
        ctx.app.subscriptions.clone(),
        sub.clone(),
        manager.clone(),
        ctx.app.metrics.clone(),
    ));
    tracing::debug!(subscription = %sub.id, consumer = %consumer.url, pinned = %consumer.pinned, user = ctx.principal.log_name(), "basic notification subscription created");
    let mut w = XmlWriter::new();
    w.with("wsnt:SubscribeResponse", &[], |w| {
        w.with("wsnt:SubscriptionReference", &[], |w| {
            w.leaf("wsa:Address", &manager);
        });
        w.leaf("wsnt:CurrentTime", &utc(now));
        w.leaf("wsnt:TerminationTime", &utc(termination));
    });
    Ok(w.finish())
}

async fn pull_messages(ctx: &Ctx, req: &Element) -> OpResult {
    let sub = subscription(ctx)?;
    if sub.consumer.is_some() {
        return Err(SoapFault::notification(
            "wsnt:UnableToGetMessagesFault",
            "this subscription delivers by Notify, not PullMessages",
            "",
        ));
    }
    let limits = ctx.app.subscriptions.limits();
    let timeout = req
        .child(TEV, "Timeout")
        .map(Element::text_trim)
        .and_then(parse_duration)
        .ok_or_else(|| SoapFault::invalid_args("Timeout must be an xs:duration"))?;
    let limit = req
        .child(TEV, "MessageLimit")
        .and_then(|e| parse_message_limit(e.text_trim()))
        .ok_or_else(|| SoapFault::invalid_args("MessageLimit must be a non-negative integer"))?;
    if timeout > limits.max_pull_timeout {
        let mut fault = SoapFault::new(
            crate::soap::FaultCode::Receiver,
            &["ter:Action"],
            "Timeout is larger than this device accepts",
        );
        fault.detail = Some(format!(
            "<tev:PullMessagesFaultResponse><tev:MaxTimeout>{}</tev:MaxTimeout><tev:MaxMessageLimit>{}</tev:MaxMessageLimit></tev:PullMessagesFaultResponse>",
            duration(limits.max_pull_timeout),
            limits.max_message_limit
        ));
        return Err(fault);
    }
    let pulled = ctx.app.subscriptions.pull(&sub, timeout, limit).await?;
    let now = Utc::now();
    let mut w = XmlWriter::new();
    w.with("tev:PullMessagesResponse", &[], |w| {
        w.leaf("tev:CurrentTime", &utc(now));
        w.leaf("tev:TerminationTime", &utc(pulled.termination));
        for event in &pulled.events {
            write_notification(w, event, None);
        }
    });
    Ok(w.finish())
}

async fn renew(ctx: &Ctx, req: &Element) -> OpResult {
    let now = Utc::now();
    let requested = req
        .child(WSNT, "TerminationTime")
        .map(Element::text_trim)
        .and_then(|t| parse_termination(t, now))
        .ok_or_else(|| termination_fault("wsnt:UnacceptableTerminationTimeFault"))?;
    let id = ctx
        .subscription
        .as_deref()
        .ok_or(SubscriptionError::Unknown)?;
    let granted = ctx.app.subscriptions.renew(id, &caller(ctx), requested)?;
    let mut w = XmlWriter::new();
    w.with("wsnt:RenewResponse", &[], |w| {
        w.leaf("wsnt:TerminationTime", &utc(granted));
        w.leaf("wsnt:CurrentTime", &utc(now));
    });
    Ok(w.finish())
}

async fn unsubscribe(ctx: &Ctx, _req: &Element) -> OpResult {
    let id = ctx
        .subscription
        .as_deref()
        .ok_or(SubscriptionError::Unknown)?;
    ctx.app.subscriptions.unsubscribe(id, &caller(ctx))?;
    tracing::debug!(subscription = id, user = ctx.principal.log_name(), peer = %ctx.peer, "unsubscribed");
    Ok("<wsnt:UnsubscribeResponse/>".into())
}

async fn set_synchronization_point(ctx: &Ctx, _req: &Element) -> OpResult {
    let sub = subscription(ctx)?;
    ctx.app.subscriptions.synchronize(&sub).await;
    Ok("<tev:SetSynchronizationPointResponse/>".into())
}

async fn seek(ctx: &Ctx, req: &Element) -> OpResult {
    let sub = subscription(ctx)?;
    let at = req
        .child(TEV, "UtcTime")
        .map(Element::text_trim)
        .and_then(crate::security::wsse::parse_created)
        .ok_or_else(|| SoapFault::invalid_args("UtcTime must be an xs:dateTime"))?;
    let reverse = match req.child(TEV, "Reverse") {
        None => false,
        Some(r) => parse_bool(r.text_trim())
            .ok_or_else(|| SoapFault::invalid_args("Reverse must be a boolean"))?,
    };
    ctx.app.subscriptions.seek(&sub, at, reverse).await?;
    Ok("<tev:SeekResponse/>".into())
}

/// The ConsumerReference's `wsa:ReferenceParameters`, written as the header blocks every
/// Notify carries (WS-Addressing 1.0 Core §3.3: each marked `wsa:IsReferenceParameter`).
fn reference_parameters(subscribe: &Element) -> String {
    let Some(params) = subscribe
        .child(WSNT, "ConsumerReference")
        .and_then(|c| c.child(crate::xml::ns::WSA, "ReferenceParameters"))
    else {
        return String::new();
    };
    let mut w = XmlWriter::new();
    for p in &params.children {
        w.element(p, &[("wsa:IsReferenceParameter", "true")]);
    }
    w.finish()
}

/// A MessageLimit (xs:int, non-negative): larger values than `usize` holds saturate (the
/// subscription clamps it to its maximum anyway); negative or non-numeric is `None`.
fn parse_message_limit(text: &str) -> Option<usize> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<usize>().unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn only_administrators_manage_every_subscription() {
        let p = |name: Option<&str>, level| Principal {
            username: name.map(str::to_string),
            level,
        };
        assert_eq!(
            caller_of(&p(Some("root"), UserLevel::Administrator)),
            Caller::admin("root")
        );
        for level in [UserLevel::Operator, UserLevel::User] {
            assert_eq!(caller_of(&p(Some("vms"), level)), Caller::user(Some("vms")));
        }
        assert_eq!(caller_of(&Principal::anonymous()), Caller::user(None));
    }

    #[test]
    fn message_limits_at_the_extremes() {
        for (text, limit) in [
            ("0", Some(0)),
            ("+5", Some(5)),
            ("1000", Some(1000)),
            ("99999999999999999999999999", Some(usize::MAX)),
            ("-1", None),
            ("-0", None),
            ("", None),
            ("+", None),
            ("1e3", None),
            ("12 ", None),
        ] {
            assert_eq!(parse_message_limit(text), limit, "{text:?}");
        }
    }

    fn sqlite(code: i32) -> StoreError {
        let e = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        StoreError::sqlite(Path::new("/data/events.db"), e)
    }

    /// Each store failure reaches the client as the fault ONVIF Core names, with HTTP 500
    /// and a stable reason that shows no internals.
    #[test]
    fn store_failures_are_receiver_faults() {
        let cases = [
            (
                sqlite(13),
                "ter:Action",
                "Action Failed: event storage is full",
            ),
            (
                sqlite(10 | (3 << 8)),
                "ter:Action",
                "Action Failed: event storage failed",
            ),
            (
                sqlite(26),
                "ter:CriticalError",
                "Critical Error: event storage is damaged",
            ),
            (
                StoreError::corrupt(Path::new("/data/events.db"), "page 3: btree damaged"),
                "ter:CriticalError",
                "Critical Error: event storage is damaged",
            ),
            (
                StoreError::closed(),
                "ter:Action",
                "Action Failed: event storage is stopped",
            ),
        ];
        for (error, subcode, reason) in cases {
            let fault = SoapFault::from(SubscriptionError::Store(error.clone()));
            assert_eq!(fault.http_status(), 500, "{error}");
            assert_eq!(fault.code, crate::soap::FaultCode::Receiver, "{error}");
            assert_eq!(fault.subcodes, [subcode], "{error}");
            assert_eq!(fault.reason, reason, "{error}");
            let xml = fault.body_xml();
            assert!(!xml.contains("/data") && !xml.contains("SQLite"), "{xml}");
        }
    }
}
