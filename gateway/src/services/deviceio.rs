//! The device I/O service (relays, digital inputs, serial ports). Filled in with the
//! southbound mapping; until then every operation answers "not supported", and the service is
//! not advertised.

#[allow(unused_imports)]
use crate::xml::ns::{TDS, TMD};

super::operations! {}
