//! Tests of the discovery messages: real-world inputs, round trips, refusals, mutations, and
//! the samples validated against the vendored schemas.

use super::*;

const EPR: &str = "urn:uuid:6b1c3f2e-5d3a-4c1b-9e7f-0a1b2c3d4e5f";

fn types() -> Vec<TypeName> {
    vec![
        TypeName::onvif_device(),
        TypeName::network_video_transmitter(),
    ]
}

fn scopes() -> Vec<String> {
    vec![
        "onvif://www.onvif.org/Profile/Streaming".to_string(),
        "onvif://www.onvif.org/name/Rail Gate".to_string(),
        "onvif://www.onvif.org/hardware/DIN-rail".to_string(),
    ]
}

fn xaddrs() -> Vec<String> {
    vec![
        "http://192.0.2.10:8080/onvif/device_service".to_string(),
        "http://[2001:db8::10]:8080/onvif/device_service".to_string(),
    ]
}

fn seq(n: u32) -> AppSequence {
    AppSequence {
        instance_id: 7,
        message_number: n,
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8")
}

/// The probe ONVIF Device Manager (WCF) sends: default namespace on the body element, the
/// type's prefix declared on `d:Types` itself, mustUnderstand on Action and To.
const WCF_PROBE: &str = r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>uuid:0a6dc791-2be6-4991-9af1-454778a1917a</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><d:Types xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dp0="http://www.onvif.org/ver10/network/wsdl">dp0:NetworkVideoTransmitter</d:Types></Probe></s:Body></s:Envelope>"#;

/// A gSOAP-style probe with scopes and a MatchBy rule.
const GSOAP_PROBE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsdd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
 <SOAP-ENV:Header>
  <wsa:MessageID>urn:uuid:11111111-2222-4333-8444-555555555555</wsa:MessageID>
  <wsa:To SOAP-ENV:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>
  <wsa:Action SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>
 </SOAP-ENV:Header>
 <SOAP-ENV:Body>
  <wsdd:Probe>
   <wsdd:Types> tds:Device </wsdd:Types>
   <wsdd:Scopes MatchBy=" http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0 ">
     onvif://www.onvif.org/location/
     onvif://www.onvif.org/name/x
   </wsdd:Scopes>
  </wsdd:Probe>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;

#[test]
fn reads_a_wcf_probe_by_namespace() {
    let Ok(Incoming::Probe(p)) = parse(WCF_PROBE.as_bytes()) else {
        panic!("not a probe");
    };
    assert_eq!(p.message_id, "uuid:0a6dc791-2be6-4991-9af1-454778a1917a");
    assert_eq!(p.reply_to.as_deref(), Some(ANONYMOUS));
    assert_eq!(
        p.types,
        [QName::new(NS_NETWORK, "NetworkVideoTransmitter")],
        "resolved by namespace, not by prefix"
    );
    assert!(p.scopes.is_empty() && p.match_by.is_none());
}

#[test]
fn reads_a_gsoap_probe_with_scopes_and_match_by() {
    let Ok(Incoming::Probe(p)) = parse(GSOAP_PROBE.as_bytes()) else {
        panic!("not a probe");
    };
    assert_eq!(p.types, [QName::new(NS_DEVICE, "Device")]);
    assert_eq!(
        p.scopes,
        [
            "onvif://www.onvif.org/location/",
            "onvif://www.onvif.org/name/x"
        ]
    );
    assert_eq!(p.match_by.as_deref(), Some(MATCH_BY_STRCMP0));
    assert_eq!(p.reply_to, None);
}

#[test]
fn a_prefix_means_nothing_without_its_namespace() {
    // `dn:` bound to some other namespace is not ONVIF's NetworkVideoTransmitter.
    let other = WCF_PROBE.replace(
        "xmlns:dp0=\"http://www.onvif.org/ver10/network/wsdl\">dp0:",
        "xmlns:dn=\"urn:other\">dn:",
    );
    let Ok(Incoming::Probe(p)) = parse(other.as_bytes()) else {
        panic!("not a probe");
    };
    assert_eq!(
        p.types,
        [QName::new("urn:other", "NetworkVideoTransmitter")]
    );
    // An undeclared prefix is refused with its own reason.
    let unbound = WCF_PROBE.replace(" xmlns:dp0=\"http://www.onvif.org/ver10/network/wsdl\"", "");
    assert_eq!(
        parse(unbound.as_bytes()),
        Err(ParseError::UnboundPrefix(
            "dp0:NetworkVideoTransmitter".into()
        ))
    );
}

#[test]
fn hello_round_trip() {
    let (t, s, x) = (types(), scopes(), xaddrs());
    let d = Description {
        endpoint_reference: EPR,
        types: &t,
        scopes: &s,
        xaddrs: &x,
        metadata_version: 3,
    };
    let bytes = hello("urn:uuid:1", seq(1), &d);
    let doc = text(&bytes);
    assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(doc.contains(&format!("<wsa:To>{TO_DISCOVERY}</wsa:To>")));
    assert!(doc.contains(&format!("<wsa:Action>{ACTION_HELLO}</wsa:Action>")));
    assert!(doc.contains("<d:Types>tds:Device dn:NetworkVideoTransmitter</d:Types>"));
    assert!(doc.contains("xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\""));
    assert!(doc.contains("xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\""));
    assert!(
        doc.contains("name/Rail%20Gate"),
        "white space in a scope is escaped"
    );
    let Ok(Incoming::Hello(a)) = parse(&bytes) else {
        panic!("not a hello: {doc}");
    };
    assert_eq!(a.message_id.as_deref(), Some("urn:uuid:1"));
    assert_eq!(a.app_sequence, Some(seq(1)));
    assert_eq!(a.target.endpoint, EPR);
    assert_eq!(
        a.target.types,
        [
            QName::new(NS_DEVICE, "Device"),
            QName::new(NS_NETWORK, "NetworkVideoTransmitter")
        ]
    );
    assert_eq!(a.target.scopes[1], "onvif://www.onvif.org/name/Rail%20Gate");
    assert_eq!(a.target.xaddrs, x);
    assert_eq!(a.target.metadata_version, Some(3));
}

#[test]
fn matches_bye_probe_resolve_and_fault_round_trip() {
    let (t, s, x) = (types(), scopes(), xaddrs());
    let d = Description {
        endpoint_reference: EPR,
        types: &t,
        scopes: &s,
        xaddrs: &x,
        metadata_version: 9,
    };
    let pm = probe_matches("urn:uuid:2", "uuid:probe", seq(2), Some(&d));
    assert!(text(&pm).contains("<wsa:RelatesTo>uuid:probe</wsa:RelatesTo>"));
    assert!(text(&pm).contains(&format!("<wsa:To>{ANONYMOUS}</wsa:To>")));
    let Ok(Incoming::ProbeMatches(m)) = parse(&pm) else {
        panic!("not probe matches");
    };
    assert_eq!(m.relates_to.as_deref(), Some("uuid:probe"));
    assert_eq!(m.app_sequence, Some(seq(2)));
    assert_eq!(m.matches.len(), 1);
    assert_eq!(m.matches[0].xaddrs, x);
    assert_eq!(m.matches[0].metadata_version, Some(9));

    let rm = resolve_matches("urn:uuid:3", "uuid:resolve", seq(3), Some(&d));
    let Ok(Incoming::ResolveMatches(m)) = parse(&rm) else {
        panic!("not resolve matches");
    };
    assert_eq!(m.relates_to.as_deref(), Some("uuid:resolve"));
    assert_eq!(m.matches[0].endpoint, EPR);

    let b = bye("urn:uuid:4", seq(4), EPR);
    let Ok(Incoming::Bye(a)) = parse(&b) else {
        panic!("not a bye");
    };
    assert_eq!(a.target.endpoint, EPR);
    assert_eq!(a.app_sequence, Some(seq(4)));

    let p = probe(
        "urn:uuid:5",
        &t,
        &["onvif://www.onvif.org/name".to_string()],
        Some(MATCH_BY_RFC3986),
    );
    let Ok(Incoming::Probe(p)) = parse(&p) else {
        panic!("not a probe");
    };
    assert_eq!(p.message_id, "urn:uuid:5");
    assert_eq!(p.types.len(), 2);
    assert_eq!(p.scopes, ["onvif://www.onvif.org/name"]);
    assert_eq!(p.match_by.as_deref(), Some(MATCH_BY_RFC3986));

    let r = resolve("urn:uuid:6", EPR);
    let Ok(Incoming::Resolve(r)) = parse(&r) else {
        panic!("not a resolve");
    };
    assert_eq!(r.endpoint, EPR);
    assert_eq!(r.message_id, "urn:uuid:6");

    let f = matching_rule_not_supported("urn:uuid:7", "uuid:directed");
    let Ok(Incoming::Fault(f)) = parse(&f) else {
        panic!("not a fault");
    };
    assert_eq!(f.relates_to.as_deref(), Some("uuid:directed"));
    assert_eq!(
        f.subcode,
        Some(QName::new(NS_DISCOVERY, "MatchingRuleNotSupported"))
    );
    assert!(!f.reason.is_empty());
}

#[test]
fn empty_matches_and_probe_without_filters() {
    let Ok(Incoming::ProbeMatches(m)) = parse(&probe_matches("urn:uuid:a", "x", seq(1), None))
    else {
        panic!("not probe matches");
    };
    assert!(m.matches.is_empty());
    let bytes = probe("urn:uuid:b", &[], &[], None);
    assert!(!text(&bytes).contains("d:Types") && !text(&bytes).contains("d:Scopes"));
    let Ok(Incoming::Probe(p)) = parse(&bytes) else {
        panic!("not a probe");
    };
    assert!(p.types.is_empty() && p.scopes.is_empty() && p.match_by.is_none());
}

#[test]
fn prefixes_never_clash() {
    let t = vec![
        TypeName::new("urn:a", "A", "d"),    // reserved
        TypeName::new("urn:b", "B", "tds"),  // free
        TypeName::new("urn:c", "C", "tds"),  // taken by urn:b
        TypeName::new("urn:b", "B2", "zzz"), // urn:b already has a prefix
        TypeName::new("urn:e", "E", "1bad"), // not an NCName
        TypeName::new("urn:f", "bad local", "f"),
        TypeName::new("urn:g", "G", "xmlns"),
    ];
    let p = assign_prefixes(&t);
    let prefixes: Vec<&str> = p.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(prefixes, ["t0", "tds", "t1", "t2", "f", "t3"]);
    let list = type_list(&p, &t);
    assert_eq!(list, "t0:A tds:B t1:C tds:B2 t2:E t3:G");
    // And the written Hello declares each of them, so the types read back by namespace.
    let d = Description {
        endpoint_reference: EPR,
        types: &t,
        scopes: &[],
        xaddrs: &[],
        metadata_version: 1,
    };
    let Ok(Incoming::Hello(h)) = parse(&hello("urn:uuid:c", seq(1), &d)) else {
        panic!("not a hello");
    };
    let read: Vec<(&str, &str)> = h
        .target
        .types
        .iter()
        .map(|q| (q.ns.as_str(), q.local.as_str()))
        .collect();
    assert_eq!(
        read,
        [
            ("urn:a", "A"),
            ("urn:b", "B"),
            ("urn:c", "C"),
            ("urn:b", "B2"),
            ("urn:e", "E"),
            ("urn:g", "G")
        ]
    );
}

#[test]
fn refusals_have_reasons() {
    let big = vec![b' '; MAX_DATAGRAM + 1];
    assert_eq!(parse(&big), Err(ParseError::TooLarge(MAX_DATAGRAM + 1)));
    let soap11 = WCF_PROBE.replace(
        "http://www.w3.org/2003/05/soap-envelope",
        "http://schemas.xmlsoap.org/soap/envelope/",
    );
    assert!(matches!(
        parse(soap11.as_bytes()),
        Err(ParseError::Envelope(_))
    ));
    let no_id = WCF_PROBE.replace(
        "<a:MessageID>uuid:0a6dc791-2be6-4991-9af1-454778a1917a</a:MessageID>",
        "",
    );
    assert_eq!(
        parse(no_id.as_bytes()),
        Err(ParseError::Invalid("no MessageID"))
    );
    let long_id = WCF_PROBE.replace("uuid:0a6dc791", &"x".repeat(300));
    assert!(matches!(
        parse(long_id.as_bytes()),
        Err(ParseError::Invalid(_))
    ));
    let unknown_header = WCF_PROBE.replace(
        "<s:Header>",
        "<s:Header><x:Y xmlns:x=\"urn:x\" s:mustUnderstand=\"true\"/>",
    );
    assert_eq!(
        parse(unknown_header.as_bytes()),
        Err(ParseError::MustUnderstand("{urn:x}Y".into()))
    );
    let optional_header = unknown_header.replace("s:mustUnderstand=\"true\"", "");
    assert!(parse(optional_header.as_bytes()).is_ok());
    let v11 = WCF_PROBE.replace(
        "<Probe xmlns=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\">",
        "<Probe xmlns=\"http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01\">",
    );
    assert!(matches!(
        parse(v11.as_bytes()),
        Err(ParseError::Unsupported(..))
    ));
    let many: String = (0..=MAX_LIST_ITEMS).map(|i| format!("s:{i} ")).collect();
    let too_many = GSOAP_PROBE.replace("onvif://www.onvif.org/name/x", &many);
    assert_eq!(
        parse(too_many.as_bytes()),
        Err(ParseError::TooManyItems("Scopes"))
    );
    let deep = format!(
        "<e:Envelope xmlns:e=\"{ENV}\"><e:Body>{}{}</e:Body></e:Envelope>",
        "<a>".repeat(20),
        "</a>".repeat(20)
    );
    assert!(matches!(parse(deep.as_bytes()), Err(ParseError::Xml(_))));
    let empty_body = format!("<e:Envelope xmlns:e=\"{ENV}\"><e:Body/></e:Envelope>");
    assert!(matches!(
        parse(empty_body.as_bytes()),
        Err(ParseError::Envelope(_))
    ));
    let resolve_without_epr = String::from_utf8(resolve("urn:uuid:r", EPR))
        .unwrap_or_default()
        .replace(EPR, "");
    assert!(matches!(
        parse(resolve_without_epr.as_bytes()),
        Err(ParseError::Invalid(_))
    ));
}

#[test]
fn message_ids_are_urn_uuids() {
    let a = new_message_id();
    let b = new_message_id();
    assert!(a.starts_with("urn:uuid:") && a.len() == 45 && a != b);
    let fixed = message_id_from([0xab; 16]);
    assert_eq!(fixed, "urn:uuid:abababab-abab-4bab-abab-abababababab");
}

/// Random bytes, and real messages mutated and truncated, never panic the parser.
#[test]
fn mutations_never_panic() {
    let (t, s, x) = (types(), scopes(), xaddrs());
    let d = Description {
        endpoint_reference: EPR,
        types: &t,
        scopes: &s,
        xaddrs: &x,
        metadata_version: 1,
    };
    let seeds: Vec<Vec<u8>> = vec![
        WCF_PROBE.as_bytes().to_vec(),
        GSOAP_PROBE.as_bytes().to_vec(),
        hello("urn:uuid:1", seq(1), &d),
        probe_matches("urn:uuid:2", "r", seq(2), Some(&d)),
        resolve_matches("urn:uuid:3", "r", seq(3), Some(&d)),
        resolve("urn:uuid:4", EPR),
        matching_rule_not_supported("urn:uuid:5", "r"),
    ];
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let specials = b"<>&;:\"'/= \t\xff\x00#%";
    for _ in 0..2_000 {
        let len = rng.usize(0..600);
        let noise: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let _ = parse(&noise);
    }
    for round in 0..30_000 {
        let mut input = seeds[round % seeds.len()].clone();
        for _ in 0..rng.usize(1..5) {
            if input.is_empty() {
                break;
            }
            let at = rng.usize(0..input.len());
            match rng.u8(0..5) {
                0 => input[at] = specials[rng.usize(0..specials.len())],
                1 => {
                    input.remove(at);
                }
                2 => input.insert(at, specials[rng.usize(0..specials.len())]),
                3 => input.truncate(at),
                _ => {
                    // Duplicate a slice: repeated elements and attributes.
                    let end = (at + rng.usize(1..64)).min(input.len());
                    let slice = input[at..end].to_vec();
                    input.splice(at..at, slice);
                }
            }
        }
        let _ = parse(&input);
    }
}

/// Writes one sample of every message railgate sends (and of those the probe client sends)
/// to `target/discovery-samples/`, for `tests/onvif/validate.py --headers`.
#[test]
fn writes_samples_for_schema_validation() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/discovery-samples"
    ));
    std::fs::create_dir_all(dir).expect("sample folder");
    let (t, s, x) = (types(), scopes(), xaddrs());
    let d = Description {
        endpoint_reference: EPR,
        types: &t,
        scopes: &s,
        xaddrs: &x,
        metadata_version: 2,
    };
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("hello", hello(&new_message_id(), seq(1), &d)),
        ("bye", bye(&new_message_id(), seq(5), EPR)),
        (
            "probe-matches",
            probe_matches(&new_message_id(), "uuid:p", seq(2), Some(&d)),
        ),
        (
            "probe-matches-empty",
            probe_matches(&new_message_id(), "uuid:p", seq(3), None),
        ),
        (
            "resolve-matches",
            resolve_matches(&new_message_id(), "uuid:r", seq(4), Some(&d)),
        ),
        (
            "fault-matching-rule",
            matching_rule_not_supported(&new_message_id(), "uuid:p"),
        ),
        (
            "probe",
            probe(
                &new_message_id(),
                &t,
                &["onvif://www.onvif.org/location/".to_string()],
                Some(MATCH_BY_RFC3986),
            ),
        ),
        ("probe-any", probe(&new_message_id(), &[], &[], None)),
        ("resolve", resolve(&new_message_id(), EPR)),
    ];
    for (name, bytes) in samples {
        assert!(parse(&bytes).is_ok(), "{name} reads back");
        std::fs::write(dir.join(format!("{name}.xml")), bytes).expect("write sample");
    }
}
