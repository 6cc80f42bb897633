//! What the mapping engine's outputs look like as ONVIF events, the topics they declare, and
//! `run_publisher`, the task that hands them to the event core in the engine's order.
//!
//! Digital inputs and relays use the standard's property topics with the exact items real
//! clients match on (Milestone: `InputToken`/`RelayToken`, `LogicalState`); values use the
//! topic and items their mapping names.

use std::sync::Arc;

use chrono::Utc;
use railgate_mappings::engine::{Output, Reason};
use railgate_mappings::plan::{FixedItem, Plan, ValuePoint};
use tokio::sync::mpsc;

use crate::events::core::{EventCore, wait};
use crate::events::model::{Event, Item, Topic};
use crate::events::topics::{ItemDescription, TopicDescription, TopicRegistry};

/// `tns1:Device/Trigger/DigitalInput`.
pub fn digital_input_topic() -> Topic {
    Topic::onvif("Device/Trigger/DigitalInput")
}

/// `tns1:Device/Trigger/Relay`.
pub fn relay_topic() -> Topic {
    Topic::onvif("Device/Trigger/Relay")
}

/// How an output is to be published.
#[derive(Debug, PartialEq)]
pub enum Publication {
    /// A property event: the property state decides Initialized or Changed (or nothing).
    Property(Event),
    /// A plain event.
    Plain(Event),
}

/// The event an engine output becomes; `None` when it publishes nothing (a heartbeat of a
/// property value: subscribers get the current state as `Initialized` on subscription and on
/// SetSynchronizationPoint instead).
pub fn publication(plan: &Plan, output: Output) -> Option<Publication> {
    match output {
        Output::Input { token, active, .. } => {
            let controller = plan
                .inputs
                .iter()
                .find(|i| i.token == token)
                .map(|i| i.controller.clone())
                .unwrap_or_default();
            Some(Publication::Property(event(
                digital_input_topic(),
                vec![Item::simple("InputToken", token)],
                vec![],
                vec![Item::simple(
                    "LogicalState",
                    if active { "true" } else { "false" },
                )],
                controller,
            )))
        }
        Output::Relay { token, active, .. } => {
            let controller = plan
                .relays
                .iter()
                .find(|r| r.token == token)
                .map(|r| r.controller.clone())
                .unwrap_or_default();
            Some(Publication::Property(event(
                relay_topic(),
                vec![Item::simple("RelayToken", token)],
                vec![],
                vec![Item::simple(
                    "LogicalState",
                    if active { "active" } else { "inactive" },
                )],
                controller,
            )))
        }
        Output::Value {
            index,
            value,
            reason,
        } => {
            let point = plan.values.get(index)?;
            let spec = &point.event;
            let e = event(
                topic(point),
                fixed(&spec.source),
                fixed(&spec.key),
                vec![Item::simple(spec.data_name.clone(), value.text)],
                point.controller.clone(),
            );
            match (spec.property, reason) {
                (true, Reason::Heartbeat) => None,
                (true, _) => Some(Publication::Property(e)),
                (false, _) => Some(Publication::Plain(e)),
            }
        }
    }
}

fn event(
    topic: Topic,
    source: Vec<Item>,
    key: Vec<Item>,
    data: Vec<Item>,
    producer: String,
) -> Event {
    Event {
        utc: Utc::now(),
        topic,
        operation: None,
        source,
        key,
        data,
        producer,
    }
}

fn fixed(items: &[FixedItem]) -> Vec<Item> {
    items
        .iter()
        .map(|i| Item::simple(i.name.clone(), i.value.clone()))
        .collect()
}

fn topic(point: &ValuePoint) -> Topic {
    Topic {
        ns: point.event.topic.namespace.clone(),
        path: point.event.topic.path.clone(),
    }
}

fn described(items: &[FixedItem]) -> Vec<ItemDescription> {
    items
        .iter()
        .map(|i| ItemDescription::simple(&i.name, i.ty.qname()))
        .collect()
}

/// Declares every topic the mapping can emit, for GetEventProperties.
pub fn register_topics(plan: &Plan, topics: &TopicRegistry) {
    if !plan.inputs.is_empty() {
        topics.register(TopicDescription {
            topic: digital_input_topic(),
            is_property: true,
            source: vec![ItemDescription::simple("InputToken", "tt:ReferenceToken")],
            key: vec![],
            data: vec![ItemDescription::simple("LogicalState", "xs:boolean")],
        });
    }
    if !plan.relays.is_empty() {
        topics.register(TopicDescription {
            topic: relay_topic(),
            is_property: true,
            source: vec![ItemDescription::simple("RelayToken", "tt:ReferenceToken")],
            key: vec![],
            data: vec![ItemDescription::simple(
                "LogicalState",
                "tt:RelayLogicalState",
            )],
        });
        super::late_fallback::register(topics);
    }
    for point in &plan.values {
        let spec = &point.event;
        topics.register(TopicDescription {
            topic: topic(point),
            is_property: spec.property,
            source: described(&spec.source),
            key: described(&spec.key),
            data: vec![ItemDescription::simple(
                &spec.data_name,
                spec.data_type.qname(),
            )],
        });
    }
}

/// Publishes engine outputs in order until every sender is gone (the core dropped its own),
/// then waits for the commits still outstanding. Events are queued to the store one after
/// another without waiting for each commit (the store batches them); commits are awaited
/// only to report failures.
pub(super) async fn run_publisher(
    plan: Arc<Plan>,
    mut outputs: mpsc::UnboundedReceiver<Vec<Output>>,
    events: EventCore,
) {
    let mut commits = tokio::task::JoinSet::new();
    while let Some(batch) = outputs.recv().await {
        for output in batch {
            let queued = match publication(&plan, output) {
                Some(Publication::Property(e)) => events.queue_property(e).await,
                Some(Publication::Plain(e)) => events.queue(e).await.map(Some),
                None => Ok(None),
            };
            match queued {
                Ok(Some(ack)) => {
                    commits.spawn(async move {
                        if let Err(e) = wait(ack).await {
                            tracing::error!(error = %e, "an event from a controller was not stored");
                        }
                    });
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "an event from a controller was not stored"),
            }
            while commits.try_join_next().is_some() {}
        }
    }
    while commits.join_next().await.is_some() {}
}
