//! WS-Addressing on responses. The event service's answers carry `wsa:Action` (the WSDL's
//! output action of the operation) and, when the request had a `wsa:MessageID`,
//! `wsa:RelatesTo` with it: WS-BaseNotification and ONVIF Core's event chapter require
//! WS-Addressing there, and clients (zeep with its wsa plugin, Milestone) match replies by it.
//! Requests' own wsa headers (`To`, `Action`, `MessageID`, ...) are accepted whether or not
//! marked mustUnderstand (`envelope::understood`).

use super::fault::SOAP_FAULT_ACTION;
use super::{Envelope, Service, SoapFault};
use crate::xml::XmlWriter;
use crate::xml::ns::{TEV, WSA, WSNT};

/// The output action of an operation (from the WSDLs), for the operations that carry one.
pub fn response_action(service: Service, ns: &str, name: &str) -> Option<&'static str> {
    if service != Service::Events {
        return None;
    }
    Some(match (ns, name) {
        (TEV, "GetServiceCapabilities") => {
            "http://www.onvif.org/ver10/events/wsdl/EventPortType/GetServiceCapabilitiesResponse"
        }
        (TEV, "GetEventProperties") => {
            "http://www.onvif.org/ver10/events/wsdl/EventPortType/GetEventPropertiesResponse"
        }
        (TEV, "CreatePullPointSubscription") => {
            "http://www.onvif.org/ver10/events/wsdl/EventPortType/CreatePullPointSubscriptionResponse"
        }
        (TEV, "PullMessages") => {
            "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesResponse"
        }
        (TEV, "Seek") => {
            "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/SeekResponse"
        }
        (TEV, "SetSynchronizationPoint") => {
            "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/SetSynchronizationPointResponse"
        }
        (WSNT, "Subscribe") => {
            "http://docs.oasis-open.org/wsn/bw-2/NotificationProducer/SubscribeResponse"
        }
        (WSNT, "Renew") => "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewResponse",
        (WSNT, "Unsubscribe") => {
            "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeResponse"
        }
        _ => return None,
    })
}

/// The request's `wsa:MessageID`, if it has a non-empty one.
fn message_id(request: &Envelope) -> Option<&str> {
    request
        .header(WSA, "MessageID")
        .map(|m| m.text_trim())
        .filter(|t| !t.is_empty())
}

/// The reply's header blocks: `wsa:Action` and, if the request had a MessageID,
/// `wsa:RelatesTo`. `None` when the operation has no output action.
pub fn reply_header(action: Option<&str>, request: &Envelope) -> Option<String> {
    let action = action?;
    let mut w = XmlWriter::new();
    w.leaf("wsa:Action", action);
    if let Some(id) = message_id(request) {
        w.leaf("wsa:RelatesTo", id);
    }
    Some(w.finish())
}

/// The header blocks of a fault answering `request`: the fault's own (`SoapFault::header_xml`)
/// and, to the event service, WS-Addressing like its other replies: the SOAP fault action
/// (unless the fault has its own) and `wsa:RelatesTo` the request's MessageID.
pub fn fault_header(fault: &SoapFault, service: Service, request: &Envelope) -> Option<String> {
    if service != Service::Events || fault.action.is_some() && message_id(request).is_none() {
        return fault.header_xml();
    }
    let mut related = fault.clone();
    related.action = related.action.or(Some(SOAP_FAULT_ACTION));
    let mut header = related.header_xml().unwrap_or_default();
    if let Some(id) = message_id(request) {
        let mut w = XmlWriter::new();
        w.leaf("wsa:RelatesTo", id);
        header.push_str(&w.finish());
    }
    Some(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    const EVENTS: &str = "http://www.onvif.org/ver10/events/wsdl";
    const WSN: &str = "http://docs.oasis-open.org/wsn/bw-2";

    #[test]
    fn event_replies_carry_their_action_and_relate_to_the_request() {
        let every = [
            (TEV, "GetServiceCapabilities"),
            (TEV, "GetEventProperties"),
            (TEV, "CreatePullPointSubscription"),
            (TEV, "PullMessages"),
            (TEV, "Seek"),
            (TEV, "SetSynchronizationPoint"),
            (WSNT, "Subscribe"),
            (WSNT, "Renew"),
            (WSNT, "Unsubscribe"),
        ];
        for (ns, name) in every {
            let a = response_action(Service::Events, ns, name).expect(name);
            assert!(a.starts_with(EVENTS) || a.starts_with(WSN), "{a}");
            assert!(a.ends_with(&format!("{name}Response")), "{a}");
        }
        assert_eq!(response_action(Service::Device, TEV, "PullMessages"), None);
        let req = super::super::parse_envelope(
            br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><e:Header><a:MessageID e:mustUnderstand="true">urn:uuid:1&amp;2</a:MessageID></e:Header><e:Body><x/></e:Body></e:Envelope>"#,
            &Limits::default(),
        )
        .unwrap();
        let h = reply_header(Some("urn:act"), &req).unwrap();
        assert_eq!(
            h,
            "<wsa:Action>urn:act</wsa:Action><wsa:RelatesTo>urn:uuid:1&amp;2</wsa:RelatesTo>"
        );
        assert_eq!(reply_header(None, &req), None);
    }

    #[test]
    fn event_faults_relate_to_the_request_and_others_are_untouched() {
        let req = super::super::parse_envelope(
            br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><e:Header><a:MessageID>urn:uuid:7</a:MessageID></e:Header><e:Body><x/></e:Body></e:Envelope>"#,
            &Limits::default(),
        )
        .unwrap();
        let f = SoapFault::action_not_supported("no");
        assert_eq!(
            fault_header(&f, Service::Events, &req).unwrap(),
            format!(
                "<wsa:Action>{SOAP_FAULT_ACTION}</wsa:Action><wsa:RelatesTo>urn:uuid:7</wsa:RelatesTo>"
            )
        );
        let own = SoapFault::notification("wsnt:InvalidFilterFault", "bad", "");
        assert_eq!(own.action, Some(SOAP_FAULT_ACTION));
        assert_eq!(fault_header(&f, Service::Device, &req), None);
    }
}
