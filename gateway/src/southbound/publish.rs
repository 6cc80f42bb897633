//! What the mapping engine's outputs look like as ONVIF events, the topics they declare, and
//! `run_publisher`, the task that hands them to the event core in the engine's order.
//!
//! The core sends [`Outgoing`] over one channel: controllers' link states and engine outputs,
//! in the order it decided them, so a controller's `rg:Monitoring/ControllerLink` going up is
//! stored before the changes of the readings that came with it (the core holds a controller's
//! outputs while its link is not up, see `hold.rs`).
//!
//! Digital inputs and relays use the standard's property topics with the exact items real
//! clients match on (Milestone: `InputToken`/`RelayToken`, `LogicalState`); values use the
//! topic and items their mapping names; records (card reads, a panel's event frames) are plain
//! events with the data items their mapping names, one per occurrence.

use std::sync::Arc;

use chrono::Utc;
use railgate_mappings::engine::{Engine, Output, Reason};
use railgate_mappings::plan::{FixedItem, Plan, TopicName};
use tokio::sync::mpsc;

use crate::events::controllers;
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

/// What the core hands the publisher, in order.
#[derive(Debug, PartialEq)]
pub enum Outgoing {
    /// A controller's link state (`rg:Monitoring/ControllerLink`).
    Link {
        /// The controller's name.
        controller: String,
        /// Whether the link is up.
        connected: bool,
        /// `connected`, `not yet connected`, or why it is down.
        reason: String,
    },
    /// Engine outputs, in engine order.
    Outputs(Vec<Output>),
    /// A reload: properties the new mapping no longer has are `Deleted`, then the outputs
    /// that follow are read against the new mapping (their value and record indices are its).
    Reload {
        /// The properties to delete.
        deleted: Vec<PropertyKey>,
        /// The mapping from now on.
        plan: Arc<Plan>,
    },
}

/// One property a mapping publishes: its topic and source items, and the controller that
/// produces it.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyKey {
    /// The topic.
    pub topic: Topic,
    /// Its source items (what tells one instance from another).
    pub source: Vec<Item>,
    /// The controller.
    pub producer: String,
}

impl PropertyKey {
    fn of(event: Event) -> PropertyKey {
        PropertyKey {
            topic: event.topic,
            source: event.source,
            producer: event.producer,
        }
    }
}

/// Every property `plan` publishes: each controller's link state and failing points, every
/// input, relay and property value.
pub fn properties(plan: &Plan) -> Vec<PropertyKey> {
    let mut keys = Vec::new();
    for c in &plan.controllers {
        keys.push(PropertyKey::of(controllers::controller_link(
            &c.name, false, "",
        )));
        keys.push(PropertyKey::of(controllers::failing_points::<&str>(
            &c.name,
            &[],
        )));
    }
    for i in &plan.inputs {
        keys.push(PropertyKey {
            topic: digital_input_topic(),
            source: vec![Item::simple("InputToken", i.token.clone())],
            producer: i.controller.clone(),
        });
    }
    for r in &plan.relays {
        keys.push(PropertyKey {
            topic: relay_topic(),
            source: vec![Item::simple("RelayToken", r.token.clone())],
            producer: r.controller.clone(),
        });
    }
    for v in plan.values.iter().filter(|v| v.event.property) {
        keys.push(PropertyKey {
            topic: topic_of(&v.event.topic),
            source: fixed(&v.event.source),
            producer: v.controller.clone(),
        });
    }
    keys
}

/// The properties of `old` that `new` does not publish (same topic and source items).
pub fn deleted(old: &Plan, new: &Plan) -> Vec<PropertyKey> {
    let kept = properties(new);
    properties(old)
        .into_iter()
        .filter(|k| {
            !kept
                .iter()
                .any(|n| n.topic == k.topic && n.source == k.source)
        })
        .collect()
}

impl Outgoing {
    /// `controller`'s link is up.
    pub fn up(controller: &str) -> Outgoing {
        Outgoing::Link {
            controller: controller.to_string(),
            connected: true,
            reason: controllers::CONNECTED.to_string(),
        }
    }

    /// `controller`'s link is down, because of `reason`.
    pub fn down(controller: &str, reason: &str) -> Outgoing {
        Outgoing::Link {
            controller: controller.to_string(),
            connected: false,
            reason: reason.to_string(),
        }
    }
}

/// What is published at start, before any reading: every controller's link state (not yet
/// connected), then every controller's failing points (none).
pub fn initial(plan: &Plan, engine: &Engine) -> Vec<Outgoing> {
    plan.controllers
        .iter()
        .map(|c| Outgoing::down(&c.name, controllers::NOT_YET_CONNECTED))
        .chain([Outgoing::Outputs(engine.initial())])
        .collect()
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
                topic_of(&point.event.topic),
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
        Output::Record { index, items } => {
            let point = plan.records.get(index)?;
            let spec = &point.event;
            Some(Publication::Plain(event(
                topic_of(&spec.topic),
                fixed(&spec.source),
                fixed(&spec.key),
                items
                    .into_iter()
                    .map(|(name, value)| Item::simple(name, value))
                    .collect(),
                point.controller.clone(),
            )))
        }
        Output::FailingPoints { controller, points } => {
            let ids: Vec<&str> = points.iter().map(|p| p.0.as_str()).collect();
            Some(Publication::Property(controllers::failing_points(
                &controller,
                &ids,
            )))
        }
    }
}

/// The publications of one [`Outgoing`] other than a reload, in order.
fn publications(plan: &Plan, outgoing: Outgoing) -> Vec<Publication> {
    match outgoing {
        Outgoing::Reload { .. } => Vec::new(),
        Outgoing::Link {
            controller,
            connected,
            reason,
        } => vec![Publication::Property(controllers::controller_link(
            &controller,
            connected,
            &reason,
        ))],
        Outgoing::Outputs(outputs) => outputs
            .into_iter()
            .filter_map(|o| publication(plan, o))
            .collect(),
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

fn topic_of(name: &TopicName) -> Topic {
    Topic {
        ns: name.namespace.clone(),
        path: name.path.clone(),
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
            topic: topic_of(&point.event.topic),
            is_property: spec.property,
            source: described(&spec.source),
            key: described(&spec.key),
            data: vec![ItemDescription::simple(
                &spec.data_name,
                spec.data_type.qname(),
            )],
        });
    }
    for point in &plan.records {
        let spec = &point.event;
        topics.register(TopicDescription {
            topic: topic_of(&spec.topic),
            is_property: false,
            source: described(&spec.source),
            key: described(&spec.key),
            data: spec
                .data
                .iter()
                .map(|i| ItemDescription::simple(&i.name, i.ty.qname()))
                .collect(),
        });
    }
}

/// A reload from `old` to `new`: declares `new`'s topics and withdraws those only `old`
/// declared (never one railgate declares by itself).
pub fn reregister_topics(old: &Plan, new: &Plan, topics: &TopicRegistry) {
    let declared = |plan: &Plan| {
        let registry = TopicRegistry::default();
        register_topics(plan, &registry);
        registry.all()
    };
    let own = TopicRegistry::default().all();
    let now = declared(new);
    for gone in declared(old) {
        let still = |list: &[TopicDescription]| list.iter().any(|d| d.topic == gone.topic);
        if !still(&now) && !still(&own) {
            topics.remove(&gone.topic);
        }
    }
    register_topics(new, topics);
}

/// Publishes link states and engine outputs in order until every sender is gone (the core
/// dropped its own), then waits for the commits still outstanding. Events are queued to the
/// store one after another without waiting for each commit (the store batches them); commits
/// are awaited only to report failures.
pub(super) async fn run_publisher(
    mut plan: Arc<Plan>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    events: EventCore,
) {
    let mut commits = tokio::task::JoinSet::new();
    while let Some(next) = outgoing.recv().await {
        if let Outgoing::Reload { deleted, plan: new } = next {
            for key in deleted {
                match events
                    .queue_delete_property(&key.topic, &key.source, &key.producer)
                    .await
                {
                    Ok(Some(ack)) => {
                        commits.spawn(async move {
                            if let Err(e) = wait(ack).await {
                                tracing::error!(error = %e, "a Deleted event of a reload was not stored");
                            }
                        });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "a Deleted event of a reload was not stored")
                    }
                }
            }
            plan = new;
            continue;
        }
        for publication in publications(&plan, next) {
            let queued = match publication {
                Publication::Property(e) => events.queue_property(e).await,
                Publication::Plain(e) => events.queue(e).await.map(Some),
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

#[cfg(test)]
mod tests {
    use railgate_adapters::PointId;
    use railgate_mappings::plan::{ItemType, RecordEvent, RecordItem, RecordPoint};

    use super::*;

    fn plan_with_a_reader() -> Plan {
        Plan {
            records: vec![RecordPoint {
                name: "Reader1".into(),
                controller: "door".into(),
                point: PointId("door/reader1".into()),
                event: RecordEvent {
                    topic: TopicName {
                        namespace: railgate_mappings::topics::RAILGATE_TOPICS.into(),
                        path: "AccessControl/CardRead".into(),
                    },
                    source: vec![FixedItem {
                        name: "ReaderToken".into(),
                        ty: ItemType::String,
                        value: "Reader1".into(),
                    }],
                    key: vec![],
                    data: vec![RecordItem {
                        name: "CardNumber".into(),
                        ty: ItemType::Int,
                        field: "number".into(),
                    }],
                },
            }],
            ..Plan::default()
        }
    }

    #[test]
    fn a_record_is_a_plain_event_with_its_items_and_its_topic_is_declared() {
        let plan = plan_with_a_reader();
        let out = Output::Record {
            index: 0,
            items: vec![("CardNumber".into(), "4567".into())],
        };
        let Some(Publication::Plain(e)) = publication(&plan, out) else {
            panic!("a record is a plain event");
        };
        assert_eq!(e.topic.path, "AccessControl/CardRead");
        assert_eq!(e.source, vec![Item::simple("ReaderToken", "Reader1")]);
        assert_eq!(e.data, vec![Item::simple("CardNumber", "4567")]);
        assert_eq!(e.producer, "door");
        let topics = TopicRegistry::default();
        register_topics(&plan, &topics);
        let d = topics
            .all()
            .into_iter()
            .find(|d| d.topic == e.topic)
            .expect("declared");
        assert!(!d.is_property);
        assert_eq!(
            d.data,
            vec![ItemDescription::simple("CardNumber", "xs:int")]
        );
        assert_eq!(
            d.source,
            vec![ItemDescription::simple("ReaderToken", "xs:string")]
        );
    }
}
