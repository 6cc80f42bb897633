//! XML in and out: a bounded, namespace-resolved element tree for requests, and a small
//! escaping writer for responses. Knows nothing of SOAP or HTTP.

pub mod ns;
pub mod tree;
pub mod write;

pub use tree::{Element, Limits, ParseError};
pub use write::XmlWriter;
