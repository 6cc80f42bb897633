//! Card-reader controllers of the plan ([`Link::Readers`]) into adapters: an OSDP bus's
//! [`OsdpAdapter`], with install-mode keys kept in the data folder as
//! `<data>/osdp/<controller>-<address>.key` (0600, in a 0700 folder; the driver writes them).

use std::path::Path;

use railgate_adapters::osdp::{
    BusConfig, LedPoint, OsdpAdapter, OsdpAdapterConfig, PdConfig, ReaderPoints, Scbk,
    SecureChannel, Timings,
};
use railgate_mappings::plan::{ReaderLink, ReaderSecure, ReaderTransport};

/// The adapter of OSDP controller `name`, or why it cannot start (logged by the caller;
/// never a key).
pub(super) fn osdp_adapter(
    name: &str,
    link: &ReaderLink,
    data_dir: Option<&Path>,
) -> Result<OsdpAdapter, String> {
    let ReaderTransport::Osdp {
        device,
        baud,
        rs485,
    } = &link.transport
    else {
        return Err("not an OSDP bus".into());
    };
    let mut pds = Vec::new();
    let mut readers = Vec::new();
    for r in &link.readers {
        let secure = match &r.secure {
            ReaderSecure::Off => SecureChannel::Off,
            ReaderSecure::Install => {
                let Some(dir) = data_dir else {
                    return Err("install mode needs a data folder for the key".into());
                };
                let folder = dir.join("osdp");
                crate::state::datadir::ensure_private_dir(&folder)
                    .map_err(|e| format!("key folder {}: {e}", folder.display()))?;
                SecureChannel::Install {
                    key_file: folder.join(format!("{name}-{}.key", r.address)),
                }
            }
            ReaderSecure::KeyFile(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("key file {}: {e}", path.display()))?;
                let key = Scbk::from_hex(&text).ok_or_else(|| {
                    format!("key file {} does not hold 32 hex digits", path.display())
                })?;
                SecureChannel::Key(key)
            }
        };
        pds.push(PdConfig::new(r.address, r.token.clone(), secure));
        readers.push(ReaderPoints {
            format: r.format,
            card: r.card_point.clone(),
            keypad: r.keypad_point.clone(),
            tamper: r.tamper_point.clone(),
            power: r.power_point.clone(),
            led: r.led.as_ref().map(|l| LedPoint {
                point: l.point.clone(),
                color: l.color,
                buzzer: l.buzzer,
            }),
        });
    }
    Ok(OsdpAdapter::new(OsdpAdapterConfig {
        bus: BusConfig {
            name: name.to_string(),
            device: device.clone(),
            baud: *baud,
            rs485: *rs485,
            pds,
            timings: Timings::default(),
        },
        readers,
    }))
}

/// The adapter of serial Wiegand converter `name`.
pub(super) fn converter_adapter(
    name: &str,
    link: &ReaderLink,
) -> Result<railgate_adapters::wiegand::ConverterAdapter, String> {
    let ReaderTransport::WiegandSerial {
        device,
        line,
        ascii,
    } = &link.transport
    else {
        return Err("not a serial Wiegand converter".into());
    };
    let reader = link.readers.first().ok_or("no reader")?;
    Ok(railgate_adapters::wiegand::ConverterAdapter::new(
        railgate_adapters::wiegand::ConverterConfig {
            name: name.to_string(),
            reader: reader.token.clone(),
            device: device.clone(),
            line: *line,
            ascii: *ascii,
            format: reader.format,
            card: reader.card_point.clone(),
            backoff: railgate_adapters::modbus::Backoff::default(),
        },
    ))
}

/// The adapter of GPIO Wiegand controller `name`.
pub(super) fn gpio_adapter(
    name: &str,
    link: &ReaderLink,
) -> Result<railgate_adapters::wiegand::EdgeAdapter<railgate_adapters::wiegand::GpioEdges>, String>
{
    let ReaderTransport::WiegandGpio {
        chip,
        d0,
        d1,
        frame_gap,
        min_interval,
    } = &link.transport
    else {
        return Err("not a GPIO Wiegand reader".into());
    };
    let reader = link.readers.first().ok_or("no reader")?;
    let nanos = |d: &std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let framer = railgate_adapters::wiegand::edges::FramerConfig {
        frame_gap_ns: nanos(frame_gap),
        min_interval_ns: nanos(min_interval),
        ..Default::default()
    };
    Ok(railgate_adapters::wiegand::EdgeAdapter::new(
        railgate_adapters::wiegand::EdgeConfig {
            name: name.to_string(),
            reader: reader.token.clone(),
            format: reader.format,
            framer,
            card: reader.card_point.clone(),
            backoff: railgate_adapters::modbus::Backoff::default(),
        },
        railgate_adapters::wiegand::GpioEdges {
            chip: chip.clone(),
            d0: *d0,
            d1: *d1,
            consumer: format!("railgate-{name}"),
        },
    ))
}
