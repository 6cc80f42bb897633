//! Items in the database: JSON arrays, so `railgate events` and `sqlite3` can read them.

use crate::events::model::Item;

/// Encodes items for a TEXT column.
pub(super) fn encode(items: &[Item]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Decodes a TEXT column; a damaged value reads as no items rather than failing the read.
pub(super) fn decode(text: &str) -> Vec<Item> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let items = vec![
            Item::simple("InputToken", "in<1>"),
            Item::Element {
                name: "Link".into(),
                xml: "<tt:X/>".into(),
            },
        ];
        assert_eq!(decode(&encode(&items)), items);
        assert!(decode("not json").is_empty());
    }
}
