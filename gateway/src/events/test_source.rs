//! Test builds only (feature `test-events`): raises events written as JSON lines to a Unix
//! socket, so interop tests can drive the event service before southbound adapters exist.
//! Never an HTTP back door: the socket is a local file, created 0600 in a private folder.
//!
//! Lines (one JSON object each), answered with `ok <seq>` once the event is durable
//! (`ok -` when a property did not change):
//! - `{"topic": "Device/Trigger/DigitalInput", "property": true, "source": {"InputToken": "in1"}, "data": {"LogicalState": "true"}}`
//! - `{"burst": 1000, "topic": "Test/Burst"}`: that many events, answered `ok <last seq>`
//! - `{"link": "panel1", "up": false, "reason": "timeout"}`: a controller's
//!   `rg:Monitoring/ControllerLink` property going down (or up)
//! - `{"panic": "why"}`: panics in the connection's task (the runtime's fatal-error path)

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;

use super::core::EventCore;
use super::model::{Event, Item, Topic};
use super::topics::{ItemDescription, TopicDescription, TopicRegistry};

#[derive(Deserialize)]
struct Line {
    topic: Option<String>,
    #[serde(default)]
    property: bool,
    #[serde(default)]
    source: BTreeMap<String, String>,
    #[serde(default)]
    data: BTreeMap<String, String>,
    burst: Option<u64>,
    link: Option<String>,
    up: Option<bool>,
    reason: Option<String>,
    panic: Option<String>,
}

fn items(map: &BTreeMap<String, String>) -> Vec<Item> {
    map.iter()
        .map(|(k, v)| Item::simple(k.clone(), v.clone()))
        .collect()
}

/// Serves the socket named by `RAILGATE_TEST_EVENTS` until `stop`.
pub async fn run(core: EventCore, topics: std::sync::Arc<TopicRegistry>, stop: CancellationToken) {
    let Some(path) = std::env::var_os("RAILGATE_TEST_EVENTS").map(PathBuf::from) else {
        return;
    };
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "test event source cannot listen");
            return;
        }
    };
    tracing::warn!(path = %path.display(), "TEST BUILD: raising events written to this socket");
    loop {
        let stream = tokio::select! {
            s = listener.accept() => match s { Ok((s, _)) => s, Err(_) => continue },
            _ = stop.cancelled() => break,
        };
        let (core, topics) = (core.clone(), topics.clone());
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = match serde_json::from_str::<Line>(&line) {
                    Ok(l) => handle(&core, &topics, l).await,
                    Err(e) => format!("error {e}"),
                };
                if write
                    .write_all(format!("{reply}\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}

async fn handle(core: &EventCore, topics: &TopicRegistry, l: Line) -> String {
    if let Some(why) = l.panic {
        panic!("the test event source was asked to panic: {why}");
    }
    if let Some(link) = l.link {
        let up = l.up.unwrap_or(true);
        let reason = l.reason.unwrap_or_else(|| {
            if up {
                super::controllers::CONNECTED
            } else {
                "test"
            }
            .to_string()
        });
        let event = super::controllers::controller_link(&link, up, &reason);
        return match core.set_property(event).await {
            Ok(Some(seq)) => format!("ok {seq}"),
            Ok(None) => "ok -".into(),
            Err(e) => format!("error {e}"),
        };
    }
    let Some(path) = l.topic else {
        return "error no topic".into();
    };
    let topic = Topic::onvif(&path);
    let describe = |m: &BTreeMap<String, String>| {
        m.keys()
            .map(|k| ItemDescription::simple(k, "xs:string"))
            .collect()
    };
    topics.register(TopicDescription {
        topic: topic.clone(),
        is_property: l.property,
        source: describe(&l.source),
        key: vec![],
        data: describe(&l.data),
    });
    let event = Event {
        utc: chrono::Utc::now(),
        topic,
        operation: None,
        source: items(&l.source),
        key: vec![],
        data: items(&l.data),
        producer: "test".into(),
    };
    if let Some(n) = l.burst {
        // Queued back to back (so the writer batches them), acknowledged in order.
        let mut acks = Vec::new();
        for i in 0..n {
            let mut e = event.clone();
            e.data.push(Item::simple("Index", i.to_string()));
            match core.store().enqueue(e).await {
                Ok(ack) => acks.push(ack),
                Err(e) => return format!("error {e}"),
            }
        }
        let mut last = 0;
        for ack in acks {
            match super::core::wait(ack).await {
                Ok(seq) => last = seq,
                Err(e) => return format!("error {e}"),
            }
        }
        return format!("ok {last}");
    }
    let result = if l.property {
        core.set_property(event).await
    } else {
        core.raise(event).await.map(Some)
    };
    match result {
        Ok(Some(seq)) => format!("ok {seq}"),
        Ok(None) => "ok -".into(),
        Err(e) => format!("error {e}"),
    }
}
