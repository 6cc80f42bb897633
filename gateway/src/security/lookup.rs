//! Which operation a request names: the lookup over the generated [`super::access_table`],
//! by service and the body element's namespace and local name.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::soap::Service;

use super::access::Operation;
use super::access_table::OPERATIONS;

/// Looks an operation up by service and request element (hashed by name: this runs for
/// every request).
pub fn operation(service: Service, ns: &str, name: &str) -> Option<&'static Operation> {
    static BY_NAME: OnceLock<HashMap<&'static str, Vec<&'static Operation>>> = OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| {
        let mut map: HashMap<&'static str, Vec<&'static Operation>> = HashMap::new();
        for op in OPERATIONS {
            map.entry(op.name).or_default().push(op);
        }
        map
    });
    by_name
        .get(name)?
        .iter()
        .find(|op| op.service == service && op.ns == ns)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::access::AccessClass;
    use crate::xml::ns::{TDS, TMD};

    #[test]
    fn table_is_unique_and_has_relay_ops_on_both_services() {
        for (i, a) in OPERATIONS.iter().enumerate() {
            for b in &OPERATIONS[i + 1..] {
                assert!(
                    !(a.service == b.service && a.ns == b.ns && a.name == b.name),
                    "duplicate {}",
                    a.name
                );
            }
        }
        assert_eq!(
            operation(Service::Device, TDS, "GetSystemDateAndTime")
                .unwrap()
                .class,
            AccessClass::PreAuth
        );
        assert_eq!(
            operation(Service::Device, TDS, "GetUsers").unwrap().class,
            AccessClass::ReadSystemSecret
        );
        assert!(operation(Service::DeviceIo, TDS, "SetRelayOutputState").is_some());
        // The relay operations in the other namespace on the DeviceIO endpoint (clients send
        // them so) have their WSDL form's class; the device service has no such aliases.
        for (alias, wsdl, name) in [
            (TMD, TDS, "GetRelayOutputs"),
            (TMD, TDS, "SetRelayOutputState"),
            (TDS, TMD, "SetRelayOutputSettings"),
        ] {
            assert_eq!(
                operation(Service::DeviceIo, alias, name).unwrap().class,
                operation(Service::DeviceIo, wsdl, name).unwrap().class,
                "{name}"
            );
        }
        assert!(operation(Service::Device, TMD, "GetRelayOutputs").is_none());
        assert!(operation(Service::DeviceIo, TMD, "GetDigitalInputs").is_some());
        assert!(operation(Service::Device, TMD, "GetDigitalInputs").is_none());
        // The checklist row holds `tt:Wiper|On`: a pipe inside a cell must not shift columns.
        assert_eq!(
            operation(Service::Device, TDS, "SendAuxiliaryCommand")
                .unwrap()
                .class,
            AccessClass::Actuate
        );
    }
}
