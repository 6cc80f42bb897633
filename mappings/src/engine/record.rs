//! One record point: each good occurrence its adapter reports becomes a plain event.

use railgate_adapters::{Quality, Value};

use super::Output;
use super::decode::DecodeError;
use super::render::valid_text;
use crate::plan::{RecordItem, RecordPoint};

/// The run-time state of one [`RecordPoint`]: only what it needs to publish.
#[derive(Clone, Debug)]
pub(super) struct RecordSlot {
    items: Vec<RecordItem>,
}

impl RecordSlot {
    pub(super) fn new(point: &RecordPoint) -> RecordSlot {
        RecordSlot {
            items: point.event.data.clone(),
        }
    }

    /// An occurrence. Good records publish every time (no deduplication: two reads of the
    /// same card are two events); `Stale` and `Bad` ones publish nothing. A record missing a
    /// field the event carries, or with a field that is not a valid lexical form of its item's
    /// type, and any other shape of value, is rejected.
    pub(super) fn update(
        &self,
        index: usize,
        value: &Value,
        quality: Quality,
        out: &mut Vec<Output>,
    ) -> Result<(), DecodeError> {
        if quality != Quality::Good {
            return Ok(());
        }
        let Value::Record(fields) = value else {
            return Err(DecodeError::Shape);
        };
        let mut items = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let text = fields.get(&item.field).ok_or(DecodeError::Shape)?;
            if !valid_text(text, item.ty) {
                return Err(DecodeError::NotRepresentable);
            }
            items.push((item.name.clone(), text.clone()));
        }
        out.push(Output::Record { index, items });
        Ok(())
    }
}
