//! The southbound side in-process: the demo (simulated panel + demo mapping + real Modbus
//! adapter) behind a real gateway, over real loopback HTTP and Modbus TCP.

use std::time::{Duration, Instant};

use railgate::config::Config;
use railgate_tests::{ADMIN_PASSWORD, Client, TestGateway, soap_envelope, username_token};

const DIO: &str = "/onvif/deviceio_service";

async fn call(client: &mut Client, path: &str, body: &str) -> (u16, String) {
    let reply = client
        .post(
            path,
            soap_envelope(&username_token("admin", ADMIN_PASSWORD), body),
        )
        .await
        .unwrap();
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_the_panel_through_the_real_adapter() {
    let (panel, plan) = railgate::demo::start().await.unwrap();
    let gw = TestGateway::start_with_plan(Config::demo(), plan)
        .await
        .unwrap();
    let mut client = Client::connect(gw.addr).await.unwrap();

    let (status, body) = call(
        &mut client,
        DIO,
        r#"<tmd:GetDigitalInputs xmlns:tmd="http://www.onvif.org/ver10/deviceIO/wsdl"/>"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("<tmd:DigitalInputs ").count(), 51, "{body}");
    assert!(body.contains(r#"token="IO-DI1""#) && body.contains(r#"token="Panel-Zone16""#));

    // The links come up; a relay write reaches the simulated panel's coil and the SOAP
    // answer comes only after the panel acknowledged it.
    let set = |state: &str| {
        format!(
            r#"<tds:SetRelayOutputState xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><tds:RelayOutputToken>IO-DO3</tds:RelayOutputToken><tds:LogicalState>{state}</tds:LogicalState></tds:SetRelayOutputState>"#
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut status, mut body) = call(&mut client, DIO, &set("active")).await;
    while status != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        (status, body) = call(&mut client, DIO, &set("active")).await;
    }
    assert_eq!(status, 200, "{body}");
    assert_eq!(panel.coil(1, 2), Some(true));
    let (status, _) = call(&mut client, DIO, &set("inactive")).await;
    assert_eq!(status, 200);
    assert_eq!(panel.coil(1, 2), Some(false));

    gw.shutdown().await.unwrap();
    panel.stop().await;
}

async fn wait_until(mut f: impl FnMut() -> bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_returns_a_held_monostable_relay_to_inactive() {
    let (panel, plan) = railgate::demo::start().await.unwrap();
    let gw = TestGateway::start_with_plan(Config::demo(), plan)
        .await
        .unwrap();
    let mut client = Client::connect(gw.addr).await.unwrap();
    let (status, body) = call(
        &mut client,
        DIO,
        r#"<tmd:SetRelayOutputSettings xmlns:tmd="http://www.onvif.org/ver10/deviceIO/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><tmd:RelayOutput token="IO-DO1"><tt:Properties><tt:Mode>Monostable</tt:Mode><tt:DelayTime>PT60S</tt:DelayTime><tt:IdleState>open</tt:IdleState></tt:Properties></tmd:RelayOutput></tmd:SetRelayOutputSettings>"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let set = r#"<tds:SetRelayOutputState xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><tds:RelayOutputToken>IO-DO1</tds:RelayOutputToken><tds:LogicalState>active</tds:LogicalState></tds:SetRelayOutputState>"#;
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut status, mut body) = call(&mut client, DIO, set).await;
    while status != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        (status, body) = call(&mut client, DIO, set).await;
    }
    assert_eq!(status, 200, "{body}");
    assert_eq!(panel.coil(1, 0), Some(true));
    // A minute of hold left, but the gateway stops: the relay must not stay released.
    gw.shutdown().await.unwrap();
    assert_eq!(panel.coil(1, 0), Some(false));
    panel.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monostable_relay_found_active_at_start_returns_to_inactive() {
    let panel = railgate_adapters::sim::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        railgate_adapters::sim::SimOptions { animate: false },
    )
    .await
    .unwrap();
    // Left energised by an earlier run that was killed mid-hold.
    panel.set_coil(1, 1, true).unwrap();
    let addr = panel.local_addr();
    let mapping = format!(
        "controllers:\n  - name: io\n    modbus_tcp: {{host: {}, port: {}}}\n    unit: 1\n    address_base: 0\n    poll_interval: 50ms\nrelays:\n  - {{token: Strike, coil: 1, mode: monostable, delay: 300ms}}\n  - {{token: Light, coil: 2}}\n",
        addr.ip(),
        addr.port()
    );
    panel.set_coil(1, 2, true).unwrap();
    let plan = railgate_mappings::load_str(std::path::Path::new("site.yaml"), &mapping).unwrap();
    let started = Instant::now();
    let gw = TestGateway::start_with_plan(Config::default(), plan)
        .await
        .unwrap();
    assert!(
        wait_until(|| panel.coil(1, 1) == Some(false), Duration::from_secs(5)).await,
        "the held monostable relay was not returned to inactive"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A bistable relay found active is left as it is.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(panel.coil(1, 2), Some(true));
    gw.shutdown().await.unwrap();
    panel.stop().await;
}
