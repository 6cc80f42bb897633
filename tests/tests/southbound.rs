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
