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
/// Counts go to `metrics` (delivered, not delivered, dropped for a full queue).
pub async fn deliver(
    subscriptions: Arc<Subscriptions>,
    sub: Arc<Subscription>,
    manager: String,
    metrics: Arc<crate::metrics::Metrics>,
) {
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
            metrics.notifications("dropped", dropped);
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
                tracing::warn!(owner, kind = %e.kind(), error = %e, retry_in_secs = backoff.as_secs(), "cannot read events to deliver");
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
            .leaf("wsa:To", &consumer.url)
            .raw(&consumer.reference_parameters);
        let body = write_envelope(Some(&header.finish()), &w.finish());
        let outcome = tokio::select! {
            r = tokio::time::timeout(DELIVERY_TIMEOUT, post(&mut connection, &consumer, body)) => r,
            _ = sub.ended().cancelled() => break,
        };
        match outcome {
            Ok(Ok(status)) if status.is_success() => {
                metrics.notifications("delivered", batch.events.len() as u64);
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
                metrics.notifications("failed", batch.events.len() as u64);
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use chrono::Utc;
    use parking_lot::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::events::consumer::tests::Scripted;
    use crate::events::consumer::{ConsumerPolicy, Resolve};
    use crate::events::core::EventCore;
    use crate::events::store::{EventStore, StoreConfig};
    use crate::events::subscription::{Caller, Filter, SubscriptionLimits};

    /// A consumer that records each request head and answers every request with `answer`,
    /// then closes the connection.
    fn serve(listener: TcpListener, answer: &'static [u8]) -> Arc<Mutex<Vec<String>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // The head, then the body by its Content-Length.
                    loop {
                        let Ok(n) = s.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .and_then(|v| v.trim().parse::<usize>().ok())
                                })
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + length {
                                record.lock().push(text[..end].to_string());
                                let _ = s.write_all(answer).await;
                                let _ = s.shutdown().await;
                                return;
                            }
                        }
                    }
                });
            }
        });
        seen
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    /// DNS rebinding: the name resolves to A at Subscribe and to B afterwards; every
    /// delivery (on a fresh connection each time) goes to A with the name in Host, B sees
    /// nothing, and the name was looked up once.
    #[tokio::test]
    async fn delivery_goes_to_the_address_pinned_at_subscribe() {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = a.local_addr().unwrap().port();
        let b = TcpListener::bind(("127.0.0.2", port)).await.unwrap();
        let (at_a, at_b) = (serve(a, OK), serve(b, OK));
        let pinned: SocketAddr = ([127, 0, 0, 1], port).into();
        let rebound: SocketAddr = ([127, 0, 0, 2], port).into();
        let resolver = Scripted::new(vec![vec![pinned], vec![rebound]]);
        let policy = ConsumerPolicy::new(vec![], &["127.0.0.1:0".parse().unwrap()])
            .with_host(resolver.clone(), Vec::new);
        let consumer = policy
            .admit(&format!("http://vms.rebind.test:{port}/notify"))
            .await
            .unwrap();
        assert_eq!(consumer.pinned, pinned);
        // What a second lookup would now say.
        assert_eq!(
            resolver.resolve("vms.rebind.test", port).await.unwrap(),
            vec![rebound]
        );

        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        let subs = Arc::new(Subscriptions::new(
            EventCore::new(store.clone()),
            SubscriptionLimits::default(),
            CancellationToken::new(),
        ));
        let sub = subs
            .create(
                Filter::default(),
                Utc::now() + chrono::Duration::hours(1),
                &Caller::user(Some("vms")),
                Some(consumer),
            )
            .await
            .unwrap();
        let delivery = tokio::spawn(deliver(
            subs.clone(),
            sub.clone(),
            "http://gw/s/1".into(),
            Arc::new(crate::metrics::Metrics::default()),
        ));
        for round in 1..=3 {
            store
                .append(crate::events::store::testing::event(round))
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while at_a.lock().len() < round {
                assert!(tokio::time::Instant::now() < deadline, "round {round}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        sub.ended().cancel();
        delivery.await.unwrap();
        let heads = at_a.lock().clone();
        assert!(heads.len() >= 3, "{heads:?}");
        for head in &heads {
            assert!(head.starts_with("POST /notify HTTP/1.1"), "{head}");
            assert!(
                head.to_ascii_lowercase()
                    .contains(&format!("host: vms.rebind.test:{port}")),
                "{head}"
            );
        }
        assert!(at_b.lock().is_empty());
        // One lookup at Subscribe, one by this test.
        assert_eq!(resolver.lookups.lock().len(), 2);
        store.close().await;
    }

    /// A redirect is not followed (and is no success); a response body over the bound
    /// fails the delivery; a kept connection is reused.
    #[tokio::test]
    async fn no_redirects_and_bounded_responses() {
        let redirect = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target_port = target.local_addr().unwrap().port();
        let redirect_addr = redirect.local_addr().unwrap();
        let answer: &'static [u8] = Box::leak(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{target_port}/x\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let at_redirect = serve(redirect, answer);
        let at_target = serve(target, OK);
        let consumer = |pinned: SocketAddr| Consumer {
            url: format!("http://{pinned}/n"),
            authority: pinned.to_string(),
            target: "/n".into(),
            pinned,
            reference_parameters: String::new(),
        };
        let mut conn = None;
        let status = post(&mut conn, &consumer(redirect_addr), "<x/>".into())
            .await
            .unwrap();
        assert_eq!(status, http::StatusCode::TEMPORARY_REDIRECT);
        assert!(!status.is_success());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(at_redirect.lock().len(), 1);
        assert!(at_target.lock().is_empty());

        let big = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let big_addr = big.local_addr().unwrap();
        let body = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
            MAX_RESPONSE_BODY + 1,
            "x".repeat(MAX_RESPONSE_BODY + 1)
        );
        serve(big, Box::leak(body.into_bytes().into_boxed_slice()));
        let mut conn = None;
        let outcome = post(&mut conn, &consumer(big_addr), "<x/>".into()).await;
        assert!(outcome.is_err(), "{outcome:?}");
        assert!(conn.is_none());

        // A keep-alive consumer: two deliveries on one connection.
        let keep = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let keep_addr = keep.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = keep.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                    }
                });
            }
        });
        let mut conn = None;
        for _ in 0..2 {
            let status = post(&mut conn, &consumer(keep_addr), "<x/>".into())
                .await
                .unwrap();
            assert_eq!(status, http::StatusCode::NO_CONTENT);
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
