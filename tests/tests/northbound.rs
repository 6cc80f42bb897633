//! The gateway in-process, driven over real loopback HTTP connections.

use std::time::Duration;

use railgate::config::Config;
use railgate_tests::{ADMIN_PASSWORD, Client, TestGateway, soap_envelope, username_token};

const DEVICE: &str = "/onvif/device_service";

fn contains(body: &[u8], needle: &str) -> bool {
    body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn authenticated_request_round_trip_on_one_keep_alive_connection() {
    let gw = TestGateway::start(Config::default()).await.unwrap();
    let mut client = Client::connect(gw.addr).await.unwrap();
    for _ in 0..10 {
        let reply = client
            .post(
                DEVICE,
                soap_envelope(
                    &username_token("admin", ADMIN_PASSWORD),
                    "<tds:GetDeviceInformation/>",
                ),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        assert!(
            reply
                .body
                .starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        assert!(contains(
            &reply.body,
            "<tds:Manufacturer>railgate</tds:Manufacturer>"
        ));
    }
    let anonymous = client
        .post(DEVICE, soap_envelope("", "<tds:GetDeviceInformation/>"))
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_clients_are_all_served() {
    let gw = TestGateway::start(Config::default()).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let addr = gw.addr;
        tasks.spawn(async move {
            let mut c = Client::connect(addr).await.unwrap();
            let mut ok = 0;
            for _ in 0..5 {
                let body =
                    soap_envelope(&username_token("admin", ADMIN_PASSWORD), "<tds:GetScopes/>");
                if c.post(DEVICE, body).await.unwrap().status == 200 {
                    ok += 1;
                }
            }
            ok
        });
    }
    let mut total = 0;
    while let Some(ok) = tasks.join_next().await {
        total += ok.unwrap();
    }
    assert_eq!(total, 64 * 5);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_is_prompt_with_idle_keep_alive_connections() {
    let gw = TestGateway::start(Config::default()).await.unwrap();
    let addr = gw.addr;
    let mut idle = Client::connect(addr).await.unwrap();
    assert_eq!(idle.get(DEVICE).await.unwrap().status, 405);
    let started = std::time::Instant::now();
    gw.shutdown().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        Client::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
    assert!(
        idle.get(DEVICE).await.is_err(),
        "idle connections are closed too"
    );
}
