#!/usr/bin/env python3
"""Generate gateway/src/security/access_table.rs from the shared OPERATIONS.md checklist.

Usage: gateway/tools/gen-access-table.py ../shared/onvif/OPERATIONS.md > gateway/src/security/access_table.rs

Every operation of the device, DeviceIO and event services gets exactly one access class.
Where the specification states none ("–"), the class follows the operation's nature:
reads are READ_SYSTEM (configuration) or READ_MEDIA (media/event data), writes are
WRITE_SYSTEM (configuration) or ACTUATE (media configuration), as noted per row below.
"""
import re
import sys

SECTIONS = {
    "1. Device management service": "Device",
    "2. DeviceIO service": "DeviceIo",
    "3. Event service": "Events",
}
NS = {"tds": "TDS", "tmd": "TMD", "tev": "TEV", "wsnt": "WSNT"}
CLASSES = {
    "PRE_AUTH": "PreAuth",
    "READ_SYSTEM": "ReadSystem",
    "READ_SYSTEM_SENSITIVE": "ReadSystemSensitive",
    "READ_SYSTEM_SECRET": "ReadSystemSecret",
    "WRITE_SYSTEM": "WriteSystem",
    "UNRECOVERABLE": "Unrecoverable",
    "READ_MEDIA": "ReadMedia",
    "ACTUATE": "Actuate",
}


def fallback(service, name):
    """Class for rows whose specification text states none."""
    if service == "Device":  # legacy certificate and 802.1X management: security configuration
        return ("ReadSystemSecret" if name.startswith("Get") else "WriteSystem",
                "not stated; security configuration")
    # DeviceIO media configuration operations
    return ("ReadMedia" if name.startswith("Get") else "Actuate", "not stated; media configuration")


# Request forms the WSDL does not define but real clients send, each served like the WSDL
# form it mirrors and with that form's access class: (service, namespace, name, WSDL namespace).
# onveef (and others) send the relay operations in the DeviceIO namespace to the DeviceIO
# endpoint, and the device namespace's SetRelayOutputSettings there too.
ALIASES = [
    ("DeviceIo", "TMD", "GetRelayOutputs", "TDS"),
    ("DeviceIo", "TMD", "SetRelayOutputState", "TDS"),
    ("DeviceIo", "TDS", "SetRelayOutputSettings", "TMD"),
]


# The Advanced Security service (keystore and TLS server features), which OPERATIONS.md does
# not list: the classes its specification states per operation (doc/Security.xml); the
# operations of its other features (passphrases, CRLs, validation policies, client
# authentication) by the same fallback as above, so every request finds a class.
ADVANCED_SECURITY = [
    ("GetServiceCapabilities", "PreAuth", ""),
    ("CreateRSAKeyPair", "WriteSystem", ""),
    ("CreateECCKeyPair", "WriteSystem", ""),
    ("UploadKeyPairInPKCS8", "WriteSystem", ""),
    ("UploadCertificateWithPrivateKeyInPKCS12", "WriteSystem", ""),
    ("GetKeyStatus", "ReadSystemSecret", ""),
    ("GetPrivateKeyStatus", "ReadSystemSecret", ""),
    ("GetAllKeys", "ReadSystemSecret", ""),
    ("DeleteKey", "Unrecoverable", ""),
    ("CreatePKCS10CSR", "ReadSystem", ""),
    ("CreateSelfSignedCertificate", "WriteSystem", ""),
    ("UploadCertificate", "WriteSystem", ""),
    ("GetCertificate", "ReadSystemSecret", ""),
    ("GetAllCertificates", "ReadSystemSecret", ""),
    ("DeleteCertificate", "Unrecoverable", ""),
    ("CreateCertificationPath", "WriteSystem", ""),
    ("GetCertificationPath", "ReadSystemSecret", ""),
    ("GetAllCertificationPaths", "ReadSystemSecret", ""),
    ("SetCertificationPath", "WriteSystem", ""),
    ("DeleteCertificationPath", "Unrecoverable", ""),
    ("UploadPassphrase", "WriteSystem", ""),
    ("GetAllPassphrases", "ReadSystemSecret", ""),
    ("DeletePassphrase", "Unrecoverable", ""),
    ("UploadCRL", "WriteSystem", "not stated; security configuration"),
    ("GetCRL", "ReadSystemSecret", "not stated; security configuration"),
    ("GetAllCRLs", "ReadSystemSecret", "not stated; security configuration"),
    ("DeleteCRL", "Unrecoverable", "not stated; security configuration"),
    ("CreateCertPathValidationPolicy", "WriteSystem", "not stated; security configuration"),
    ("GetCertPathValidationPolicy", "ReadSystemSecret", "not stated; security configuration"),
    ("GetAllCertPathValidationPolicies", "ReadSystemSecret", "not stated; security configuration"),
    ("SetCertPathValidationPolicy", "WriteSystem", "not stated; security configuration"),
    ("DeleteCertPathValidationPolicy", "Unrecoverable", "not stated; security configuration"),
    ("AddServerCertificateAssignment", "WriteSystem", ""),
    ("RemoveServerCertificateAssignment", "WriteSystem", ""),
    ("ReplaceServerCertificateAssignment", "WriteSystem", ""),
    ("GetAssignedServerCertificates", "ReadSystemSecret", ""),
    ("SetEnabledTLSVersions", "WriteSystem", ""),
    ("GetEnabledTLSVersions", "ReadSystem", ""),
    ("SetClientAuthenticationRequired", "WriteSystem", "not stated; security configuration"),
    ("GetClientAuthenticationRequired", "ReadSystemSecret", "not stated; security configuration"),
    ("SetCnMapsToUser", "WriteSystem", "not stated; security configuration"),
    ("GetCnMapsToUser", "ReadSystemSecret", "not stated; security configuration"),
    ("AddCertPathValidationPolicyAssignment", "WriteSystem", "not stated; security configuration"),
    ("RemoveCertPathValidationPolicyAssignment", "WriteSystem", "not stated; security configuration"),
    ("ReplaceCertPathValidationPolicyAssignment", "WriteSystem", "not stated; security configuration"),
    ("GetAssignedCertPathValidationPolicies", "ReadSystemSecret", "not stated; security configuration"),
]


def name_of(cells):
    return cells[0].strip("` ")


def main(path):
    rows = []
    service = None
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            service = next((v for k, v in SECTIONS.items() if line[3:].startswith(k)), None)
            continue
        if service is None or not line.startswith("| `"):
            continue
        # Cells are separated by " | "; a bare "|" inside a cell (e.g. `tt:Wiper|On`) is text.
        cells = [c.strip() for c in re.split(r"\s\|\s", line.strip().strip("|").strip())]
        if "->" in cells[0]:
            continue  # Notify (device->client) is sent by us, not an operation we serve
        elements = re.findall(r"\b(tds|tmd|tev|wsnt):(\w+)", cells[1].split("→")[0])
        if not elements:
            continue
        raw_class = cells[4]
        m = re.match(r"([A-Z_]+)", raw_class)
        if m is None and raw_class not in ("–", "-"):
            sys.exit(f"{name_of(cells)}: unreadable access class {raw_class!r}")
        for prefix, name in elements:
            if m and m.group(1) in CLASSES:
                cls, note = CLASSES[m.group(1)], raw_class if "not stated" in raw_class else ""
            else:
                cls, note = fallback(service, name)
            rows.append((service, NS[prefix], name, cls, note))
    for name, cls, note in ADVANCED_SECURITY:
        rows.append(("AdvancedSecurity", "TAS", name, cls, note))
    for service, ns, name, wsdl_ns in ALIASES:
        cls = next(r[3] for r in rows if r[:3] == (service, wsdl_ns, name))
        rows.append((service, ns, name, cls, f"alias of the {wsdl_ns.lower()} form (not in the WSDL; sent by clients)"))
    out = [
        "// @generated by gateway/tools/gen-access-table.py from ../shared/onvif/OPERATIONS.md.",
        "// Do not edit by hand: change the checklist or the script, and regenerate.",
        "",
        "use super::access::{AccessClass::*, Operation};",
        "use crate::soap::Service::*;",
        "use crate::xml::ns::{TAS, TDS, TEV, TMD, WSNT};",
        "",
        "/// Every operation of the device, DeviceIO, event and advanced security services, with its access class.",
        "#[rustfmt::skip]",
        "pub const OPERATIONS: &[Operation] = &[",
    ]
    for service, ns, name, cls, note in rows:
        comment = f" // {note}" if note else ""
        out.append(f'    Operation {{ service: {service}, ns: {ns}, name: "{name}", class: {cls} }},{comment}')
    out.append("];")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/onvif/OPERATIONS.md")
