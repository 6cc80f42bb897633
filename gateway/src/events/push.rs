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
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::addr::Network;
use crate::events::store::StoreErrorKind;
use crate::soap::write_envelope;
use crate::xml::XmlWriter;

use super::render::write_notification;
use super::subscription::{Subscription, SubscriptionError, Subscriptions};

/// Checks a consumer address: `http://host[:port]/path`, every address the host resolves
/// to inside `allowed` (when any network is configured). Returns why not, if not.
pub async fn check_consumer(address: &str, allowed: &[Network]) -> Result<(), String> {
    let uri: http::Uri = address
        .parse()
        .map_err(|_| format!("{address:?} is not a URI"))?;
    if uri.scheme_str() != Some("http") {
        return Err("the consumer address must be an http:// URI".into());
    }
    let host = uri.host().ok_or("the consumer address has no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    if allowed.is_empty() {
        return Ok(());
    }
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty()
        || !addrs
            .iter()
            .all(|a| allowed.iter().any(|n| n.contains(a.ip())))
    {
        return Err(format!(
            "{host} is not in the networks consumers may be in (events.consumer_networks)"
        ));
    }
    Ok(())
}

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
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut backoff = Duration::from_secs(1);
    let mut dropped_total = 0u64;
    loop {
        if sub.ended().is_cancelled() {
            break;
        }
        let dropped = subscriptions.skip_backlog(&sub, MAX_BACKLOG).await;
        if dropped > 0 {
            dropped_total += dropped;
            tracing::warn!(subscription = %sub.id, consumer = %consumer, dropped, dropped_total, "consumer too far behind: oldest events skipped (still in the store)");
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
            .leaf("wsa:To", &consumer);
        let body = write_envelope(Some(&header.finish()), &w.finish());
        let request = http::Request::post(&consumer)
            .header(http::header::CONTENT_TYPE, "application/soap+xml; charset=utf-8; action=\"http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify\"")
            .body(Full::new(Bytes::from(body)));
        let Ok(request) = request else {
            tracing::warn!(subscription = %sub.id, consumer = %consumer, "consumer address is not a valid URI");
            break;
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout(Duration::from_secs(10), client.request(request)) => r,
            _ = sub.ended().cancelled() => break,
        };
        match outcome {
            Ok(Ok(response)) if response.status().is_success() => {
                subscriptions.commit(&sub, batch.cursor).await;
                backoff = Duration::from_secs(1);
            }
            failure => {
                let reason = match failure {
                    Ok(Ok(r)) => format!("HTTP {}", r.status()),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "timed out".into(),
                };
                tracing::info!(subscription = %sub.id, consumer = %consumer, reason, retry_in_secs = backoff.as_secs(), "Notify not delivered");
                if !back_off(&sub, &mut backoff).await {
                    break;
                }
            }
        }
    }
    tracing::debug!(subscription = %sub.id, "delivery ended");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn consumer_addresses() {
        let only_lan = [Network::parse("10.0.0.0/8").unwrap()];
        assert!(
            check_consumer("http://127.0.0.1:9/notify", &[])
                .await
                .is_ok()
        );
        assert!(
            check_consumer("http://127.0.0.1:9/notify", &only_lan)
                .await
                .is_err()
        );
        assert!(check_consumer("http://10.9.9.9/x", &only_lan).await.is_ok());
        assert!(
            check_consumer("https://10.9.9.9/x", &only_lan)
                .await
                .is_err()
        );
        assert!(check_consumer("not a uri", &[]).await.is_err());
    }
}
