//! Basic notification: for a subscription with a consumer address, railgate POSTs
//! `wsnt:Notify` to the consumer as events arrive.
//!
//! Delivery reads the store from the subscription's cursor, like a pull point, so nothing
//! waits in memory: while the consumer is down, retries back off (1 s doubling to 60 s) and
//! the events stay in the store. If the backlog grows beyond `MAX_BACKLOG` events, the
//! oldest are skipped (counted and logged; the store still has every one), so a consumer
//! returning after days is not flooded.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::events::store::StoreErrorKind;
use crate::soap::write_envelope;
use crate::xml::XmlWriter;

use super::consumer::Consumer;
use super::render::write_notification;
use super::subscription::{Subscription, SubscriptionError, Subscriptions};

/// Most bytes of a consumer's response body read; a longer body fails the delivery.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;
/// Longest a delivery (connect, request, response) may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Most undelivered events kept for a consumer; older ones are skipped.
pub const MAX_BACKLOG: u64 = 1000;
const NOTIFY_ACTION: &str = "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify";
const MAX_PER_NOTIFY: usize = 100;

/// Delivers a subscription's events until it ends. `manager` is its subscription manager
/// address (put in each message's SubscriptionReference).
pub async fn deliver(subscriptions: Arc<Subscriptions>, sub: Arc<Subscription>, manager: String) {
    let Some(consumer) = sub.consumer.clone() else {
        return;
    };
    let mut connection: Option<SendRequest<Full<Bytes>>> = None;
    let owner = sub.owner.as_deref().unwrap_or("anonymous");
    let mut backoff = Duration::from_secs(1);
    let mut dropped_total = 0u64;
    loop {
        if sub.ended().is_cancelled() {
            break;
        }
        let dropped = subscriptions.skip_backlog(&sub, MAX_BACKLOG).await;
        if dropped > 0 {
            dropped_total += dropped;
            tracing::debug!(subscription = %sub.id, consumer = %consumer.url, dropped, "consumer too far behind");
            tracing::warn!(
                owner,
                dropped,
                dropped_total,
                "push consumer too far behind: oldest events skipped (still in the store)"
            );
        }
        let batch = match subscriptions
            .peek(&sub, Duration::from_secs(30), MAX_PER_NOTIFY)
            .await
        {
            Ok(b) => b,
            Err(SubscriptionError::Store(e)) if e.kind() != StoreErrorKind::Closed => {
                // The events stay in the store: try again after the same back-off as for
                // a consumer that does not answer.
                tracing::warn!(subscription = %sub.id, kind = %e.kind(), error = %e, retry_in_secs = backoff.as_secs(), "cannot read events to deliver");
                if !back_off(&sub, &mut backoff).await {
                    break;
                }
                continue;
            }
            Err(_) => break,
        };
        if batch.events.is_empty() {
            continue;
        }
        let mut w = XmlWriter::new();
        w.with("wsnt:Notify", &[], |w| {
            for e in &batch.events {
                write_notification(w, e, Some(&manager));
            }
        });
        let mut header = XmlWriter::new();
        header
            .leaf("wsa:Action", NOTIFY_ACTION)
            .leaf("wsa:To", &consumer.url);
        let body = write_envelope(Some(&header.finish()), &w.finish());
        let outcome = tokio::select! {
            r = tokio::time::timeout(DELIVERY_TIMEOUT, post(&mut connection, &consumer, body)) => r,
            _ = sub.ended().cancelled() => break,
        };
        match outcome {
            Ok(Ok(status)) if status.is_success() => {
                subscriptions.commit(&sub, batch.cursor).await;
                backoff = Duration::from_secs(1);
            }
            failure => {
                let reason = match failure {
                    Ok(Ok(status)) => format!("HTTP {status}"),
                    Ok(Err(e)) => e,
                    Err(_) => {
                        connection = None;
                        "timed out".into()
                    }
                };
                tracing::debug!(subscription = %sub.id, consumer = %consumer.url, reason, "Notify not delivered");
                tracing::info!(
                    owner,
                    reason,
                    retry_in_secs = backoff.as_secs(),
                    "push Notify not delivered"
                );
                if !back_off(&sub, &mut backoff).await {
                    break;
                }
            }
        }
    }
    tracing::debug!(subscription = %sub.id, "delivery ended");
}

/// POSTs one Notify to the consumer's pinned address (never resolved again), reusing the
/// connection while the consumer keeps it open. Redirects are not followed (a 3xx is a
/// failed delivery); at most [`MAX_RESPONSE_BODY`] bytes of the response are read. Returns
/// the status, or why the delivery failed.
pub async fn post(
    connection: &mut Option<SendRequest<Full<Bytes>>>,
    consumer: &Consumer,
    body: String,
) -> Result<http::StatusCode, String> {
    let body = Bytes::from(body);
    let mut kept = connection.take();
    loop {
        // A kept connection the consumer closed meanwhile fails before any answer: then one
        // fresh connection is tried at once (`kept` is empty on the next turn).
        let reused = kept.is_some();
        let mut sender = match kept.take() {
            Some(mut s) => match s.ready().await {
                Ok(()) => s,
                Err(_) => continue,
            },
            None => connect(consumer).await?,
        };
        let request = http::Request::post(consumer.target.as_str())
            .header(http::header::HOST, consumer.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/soap+xml; charset=utf-8; action=\"http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify\"")
            .body(Full::new(body.clone()))
            .map_err(|_| "the consumer address is not a valid request target".to_string())?;
        let response = match sender.send_request(request).await {
            Ok(r) => r,
            Err(_) if reused => continue,
            Err(e) => return Err(e.to_string()),
        };
        let status = response.status();
        match Limited::new(response.into_body(), MAX_RESPONSE_BODY)
            .collect()
            .await
        {
            Ok(_) => *connection = Some(sender),
            // Too long or broken: this connection is not used again, and a success is not
            // believed.
            Err(_) if status.is_success() => {
                return Err("the consumer's response is too long or broken".into());
            }
            Err(_) => {}
        }
        return Ok(status);
    }
}

async fn connect(consumer: &Consumer) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(consumer.pinned)
        .await
        .map_err(|e| format!("cannot connect: {}", e.kind()))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Waits `backoff` (1 s doubling to 60 s), then doubles it; `false` if the subscription
/// ended meanwhile.
async fn back_off(sub: &Subscription, backoff: &mut Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(*backoff) => {}
        _ = sub.ended().cancelled() => return false,
    }
    *backoff = (*backoff * 2).min(Duration::from_secs(60));
    true
}
