//! The event service. Filled in with the event store; until then every operation answers
//! "not supported", and the service is not advertised.

#[allow(unused_imports)]
use crate::xml::ns::{TEV, WSNT};

super::operations! {}
