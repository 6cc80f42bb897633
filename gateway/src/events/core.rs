//! The one place events are raised: it owns the property state model and hands every event
//! to the store, in order. Adapters, the mapping engine, monitoring and (in test builds) the
//! test source all raise through an [`EventCore`].

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Mutex;

use crate::events::store::{EventStore, StoreError};

use super::model::{Event, Item, Topic, to_millis};
use super::properties::PropertyState;

/// A queued event's commit: its sequence number once it is durable, or why it was not
/// stored.
pub type Ack = crate::events::store::Ack;

/// Waits for a queued event's commit. The error is the store's own (disk full, I/O,
/// corrupt); an acknowledgement dropped unanswered means the writer is gone (closed).
pub async fn wait(ack: Ack) -> Result<u64, StoreError> {
    ack.await.unwrap_or_else(|_| Err(StoreError::closed()))
}

/// Raises events. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventCore {
    store: EventStore,
    properties: Arc<Mutex<PropertyState>>,
}

impl EventCore {
    /// A core writing to `store`.
    pub fn new(store: EventStore) -> Self {
        EventCore {
            store,
            properties: Arc::new(Mutex::new(PropertyState::default())),
        }
    }

    /// The store events go to.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Raises a non-property event; returns its sequence number once it is durable.
    pub async fn raise(&self, mut event: Event) -> Result<u64, StoreError> {
        event.utc = to_millis(event.utc);
        event.operation = None;
        self.store.append(event).await
    }

    /// Sets a property (`event.operation` is decided here). Returns the sequence number of the
    /// stored event, or `None` when the value did not change (no event).
    pub async fn set_property(&self, event: Event) -> Result<Option<u64>, StoreError> {
        match self.queue_property(event).await? {
            Some(ack) => wait(ack).await.map(Some),
            None => Ok(None),
        }
    }

    /// Like [`EventCore::set_property`], but returns once the event is queued, in order,
    /// with its commit to wait for (`None`: the value did not change, no event). For
    /// raisers that publish many events in a row and must not wait for the disk each time.
    pub async fn queue_property(&self, mut event: Event) -> Result<Option<Ack>, StoreError> {
        event.utc = to_millis(event.utc);
        // The state lock is held until the event is queued, so the store sees property
        // events in the order their values were decided.
        let mut state = self.properties.lock().await;
        let Some(event) = state.set(event) else {
            return Ok(None);
        };
        self.store.enqueue(event).await.map(Some)
    }

    /// Like [`EventCore::queue_property`], for the store's own monitoring property: a full
    /// disk does not refuse it, the store holds it until it can be written
    /// ([`EventStore::enqueue_held`]).
    pub async fn queue_property_held(&self, mut event: Event) -> Result<Option<Ack>, StoreError> {
        event.utc = to_millis(event.utc);
        let mut state = self.properties.lock().await;
        let Some(event) = state.set(event) else {
            return Ok(None);
        };
        self.store.enqueue_held(event).await.map(Some)
    }

    /// Queues a non-property event; returns its commit to wait for.
    pub async fn queue(&self, mut event: Event) -> Result<Ack, StoreError> {
        event.utc = to_millis(event.utc);
        event.operation = None;
        self.store.enqueue(event).await
    }

    /// Removes a property, raising `Deleted`. `None` if it was not known.
    pub async fn delete_property(
        &self,
        topic: &Topic,
        source: &[Item],
        producer: &str,
    ) -> Result<Option<u64>, StoreError> {
        match self.queue_delete_property(topic, source, producer).await? {
            Some(ack) => wait(ack).await.map(Some),
            None => Ok(None),
        }
    }

    /// [`EventCore::delete_property`] without waiting for the commit.
    pub async fn queue_delete_property(
        &self,
        topic: &Topic,
        source: &[Item],
        producer: &str,
    ) -> Result<Option<Ack>, StoreError> {
        let event = Event {
            utc: to_millis(Utc::now()),
            topic: topic.clone(),
            operation: None,
            source: source.to_vec(),
            key: vec![],
            data: vec![],
            producer: producer.to_string(),
        };
        let mut state = self.properties.lock().await;
        let Some(event) = state.delete(topic, source, event) else {
            return Ok(None);
        };
        self.store.enqueue(event).await.map(Some)
    }

    /// The current value of every property, as `Initialized` events (for synchronization).
    pub async fn snapshot(&self) -> Vec<Event> {
        self.properties.lock().await.snapshot()
    }
}
