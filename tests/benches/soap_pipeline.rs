//! CPU cost of railgate's SOAP pipeline without the network: parsing a request, and the
//! whole `http::soap::handle` (parse, authenticate, authorize, dispatch, write) for an
//! unauthenticated and a UsernameToken-authenticated operation.
//!
//! `cargo bench -p railgate-tests --bench soap_pipeline`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use railgate::app::App;
use railgate::config::Config;
use railgate::http::ConnInfo;
use railgate::http::soap::{HttpRequest, handle};
use railgate::security::Secret;
use railgate::soap::{Service, parse_envelope};
use railgate_tests::{ADMIN_PASSWORD, soap_envelope, username_token};

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    // One account at benchmark rate: the per-user authentication rate off (0), and a replay
    // share that holds every token of the run until it goes stale.
    let mut config = Config::default();
    config.security.auth_rate_per_user = 0;
    config.security.created_window_secs = 10;
    config.security.replay_cache_size = 2_000_000;
    let app = Arc::new(
        App::build(
            config,
            Default::default(),
            data.path(),
            vec!["127.0.0.1:80".parse().expect("an address")],
            Some(Secret::new(ADMIN_PASSWORD)),
        )
        .unwrap(),
    );
    let conn = ConnInfo {
        peer: "127.0.0.1:50000".parse().unwrap(),
        local: "127.0.0.1:8080".parse().unwrap(),
        tls: false,
    };
    let headers = http::HeaderMap::new();
    let date = soap_envelope("", "<tds:GetSystemDateAndTime/>");
    let with_token = soap_envelope(
        &username_token("admin", ADMIN_PASSWORD),
        "<tds:GetDeviceInformation/>",
    );

    c.bench_function("parse_envelope GetSystemDateAndTime", |b| {
        b.iter(|| parse_envelope(black_box(date.as_bytes()), &app.xml_limits).unwrap())
    });
    c.bench_function("parse_envelope with UsernameToken", |b| {
        b.iter(|| parse_envelope(black_box(with_token.as_bytes()), &app.xml_limits).unwrap())
    });
    fn request<'a>(headers: &'a http::HeaderMap, conn: ConnInfo, body: &'a str) -> HttpRequest<'a> {
        HttpRequest {
            subscription: None,
            method: "POST",
            target: "/onvif/device_service",
            headers,
            conn,
            body: body.as_bytes(),
        }
    }
    c.bench_function("handle GetSystemDateAndTime", |b| {
        b.iter(|| {
            rt.block_on(handle(
                app.clone(),
                Service::Device,
                request(&headers, conn, &date),
            ))
        })
    });
    c.bench_function("handle GetDeviceInformation + UsernameToken", |b| {
        b.iter_batched(
            || {
                soap_envelope(
                    &username_token("admin", ADMIN_PASSWORD),
                    "<tds:GetDeviceInformation/>",
                )
            },
            |body| {
                let res = rt.block_on(handle(
                    app.clone(),
                    Service::Device,
                    request(&headers, conn, &body),
                ));
                assert_eq!(res.status(), 200);
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
