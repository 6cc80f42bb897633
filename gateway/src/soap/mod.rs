//! SOAP 1.2: reading request envelopes, writing responses and faults, and routing a body
//! element to the operation that serves it.

pub mod addressing;
pub mod envelope;
pub mod fault;

pub use envelope::{Envelope, parse_envelope, write_envelope};
pub use fault::{FaultCode, SoapFault};

/// The web services railgate hosts; each has its own endpoint path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Device management, at `/onvif/device_service`.
    Device,
    /// Device I/O (relays, inputs, serial ports), at `/onvif/deviceio_service`.
    DeviceIo,
    /// Events, at `/onvif/event_service` (and the subscription addresses below it).
    Events,
    /// Advanced security (keystore, TLS server), at `/onvif/advanced_security_service`.
    AdvancedSecurity,
}

impl Service {
    /// Every service, in the order GetServices lists them.
    pub const ALL: [Service; 4] = [
        Service::Device,
        Service::DeviceIo,
        Service::Events,
        Service::AdvancedSecurity,
    ];

    /// The endpoint path.
    pub fn path(self) -> &'static str {
        match self {
            Service::Device => "/onvif/device_service",
            Service::DeviceIo => "/onvif/deviceio_service",
            Service::Events => "/onvif/event_service",
            Service::AdvancedSecurity => "/onvif/advanced_security_service",
        }
    }

    /// Its name in the metrics' `service` label (the endpoint without `/onvif/` and
    /// `_service`).
    pub fn metric_name(self) -> &'static str {
        match self {
            Service::Device => "device",
            Service::DeviceIo => "deviceio",
            Service::Events => "event",
            Service::AdvancedSecurity => "advanced_security",
        }
    }

    /// The service's WSDL namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            Service::Device => crate::xml::ns::TDS,
            Service::DeviceIo => crate::xml::ns::TMD,
            Service::Events => crate::xml::ns::TEV,
            Service::AdvancedSecurity => crate::xml::ns::TAS,
        }
    }

    /// Finds the service whose endpoint is `path`, and the subscription a path below the
    /// event service names (`/onvif/event_service/pull/<id>`, `.../subscription/<id>`).
    pub fn route(path: &str) -> Option<(Service, Option<String>)> {
        let path = path.trim_end_matches('/');
        if let Some(service) = Service::ALL.into_iter().find(|s| s.path() == path) {
            return Some((service, None));
        }
        let rest = path.strip_prefix("/onvif/event_service/")?;
        let (kind, id) = rest.split_once('/')?;
        let valid = matches!(kind, "pull" | "subscription")
            && !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| (Service::Events, Some(id.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_services_metric_name_is_its_endpoint() {
        for s in Service::ALL {
            let endpoint = s
                .path()
                .trim_start_matches("/onvif/")
                .trim_end_matches("_service");
            assert_eq!(s.metric_name(), endpoint);
        }
    }
}
