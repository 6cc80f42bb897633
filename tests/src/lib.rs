//! Test peers for railgate's integration tests and benchmarks.
//!
//! - [`TestGateway`]: the real gateway, in-process, on `127.0.0.1:0` with a private data
//!   folder, stopped through its cancellation token (the way mini-redis tests start a server);
//!   the one setup of the integration tests and of the benchmarks in `src/bin`.
//! - [`BenchRuntimes`]: the benchmarks' two runtimes, the gateway's and the load generator's.
//! - [`Client`]: one keep-alive HTTP/1.1 connection (hyper) for SOAP requests.
//! - [`RawClient`]: the benchmarks' keep-alive HTTP/1.1 connection, plain or TLS
//!   ([`pinned_tls_client`]), and [`run_slice`] / [`Totals`]: the slices they alternate in.
//! - [`soap_envelope`] and [`username_token`]: request builders, with the UsernameToken
//!   digest computed by railgate's own function so the tests cannot drift from it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use railgate::app::App;
use railgate::config::Config;
use railgate::http::{ServeSettings, bind, routes, serve};
use railgate::runtime::Gateway;
use railgate::security::{Secret, random_bytes, wsse::password_digest};
use railgate::tls::certificate_names;
use railgate_mappings::plan::Plan;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use warp::Filter;

/// The admin password test gateways start with.
pub const ADMIN_PASSWORD: &str = "adminpass1";

/// A gateway running inside the test process.
#[derive(Debug)]
pub struct TestGateway {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it listens for HTTPS: set by [`TestGateway::start_http_stack`] when
    /// `server.tls_listen` names any address, `None` otherwise.
    pub tls_addr: Option<SocketAddr>,
    /// Its shared state (to raise events, read the store).
    pub app: Arc<App>,
    /// Cancel to stop it.
    pub stop: CancellationToken,
    /// Finishes when it has stopped.
    pub handle: tokio::task::JoinHandle<()>,
    /// The data folder (removed on drop).
    pub data: tempfile::TempDir,
}

impl TestGateway {
    /// Starts a gateway with `config` (its listen addresses replaced by `127.0.0.1:0`).
    pub async fn start(config: Config) -> anyhow::Result<TestGateway> {
        Self::start_with_plan(config, Plan::default()).await
    }

    /// Starts a gateway with `config` and the mapping `plan`.
    pub async fn start_with_plan(mut config: Config, plan: Plan) -> anyhow::Result<TestGateway> {
        on_loopback(&mut config);
        let data = tempfile::tempdir()?;
        let gateway =
            Gateway::start_with_plan(config, plan, data.path(), Some(Secret::new(ADMIN_PASSWORD)))?;
        let (addr, app) = (gateway.addrs[0], gateway.app.clone());
        Ok(Self::running(addr, None, app, data, |stop| async move {
            gateway
                .serve(stop)
                .await
                .expect("the gateway stops cleanly");
        }))
    }

    /// Starts only the HTTP stack of a gateway with `config`: the warp routes and the
    /// hyper-util server the gateway serves with (default settings), `extra` tried before the
    /// gateway's routes, and none of its background tasks (southbound, monitoring, discovery).
    /// For the load benchmark, whose baseline is a plain reply served by the same stack.
    ///
    /// When `server.tls_listen` names any address, HTTPS is served too, on one listener at
    /// `127.0.0.1:0` ([`TestGateway::tls_addr`]), with the device certificate the gateway makes
    /// on its first start (`<data>/tls/device.crt`, [`TestGateway::device_certificate`]).
    pub async fn start_http_stack<F>(mut config: Config, extra: F) -> anyhow::Result<TestGateway>
    where
        F: Filter<Extract = (http::Response<String>,), Error = warp::Rejection>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        on_loopback(&mut config);
        let data = tempfile::tempdir()?;
        let listeners = bind(&config.server.listen)?;
        let addr = listeners[0].local_addr()?;
        let serve_tls = !config.server.tls_listen.is_empty();
        if serve_tls {
            config.server.tls_listen = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
        }
        let tls_listeners = bind(&config.server.tls_listen)?;
        let app = Arc::new(App::build(
            config,
            Plan::default(),
            data.path(),
            vec![addr],
            Some(Secret::new(ADMIN_PASSWORD)),
        )?);
        let tls = if serve_tls {
            let names = certificate_names("localhost", &[]);
            let tls = app.keystore.serve_tls(&names).map_err(anyhow::Error::msg)?;
            Some((tls_listeners, tls))
        } else {
            None
        };
        let tls_addr = match &tls {
            Some((listeners, _)) => Some(listeners[0].local_addr()?),
            None => None,
        };
        let stack = extra.or(routes(app.clone())).unify();
        let rebinds = app.protocols.take_rebinds().expect("a fresh App");
        Ok(Self::running(addr, tls_addr, app, data, |stop| {
            serve(
                listeners,
                tls,
                None,
                rebinds,
                stack,
                ServeSettings::default(),
                stop,
            )
        }))
    }

    /// Spawns `serve`, which runs until the token it is given is cancelled.
    fn running<S, F>(
        addr: SocketAddr,
        tls_addr: Option<SocketAddr>,
        app: Arc<App>,
        data: tempfile::TempDir,
        serve: S,
    ) -> Self
    where
        S: FnOnce(CancellationToken) -> F,
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let handle = tokio::spawn(serve(stop.clone()));
        TestGateway {
            addr,
            tls_addr,
            app,
            stop,
            handle,
            data,
        }
    }

    /// The device certificate HTTPS presents (its data folder's `tls/device.crt`).
    pub fn device_certificate(&self) -> std::path::PathBuf {
        self.data.path().join("tls/device.crt")
    }

    /// Stops it and waits until it has stopped.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.handle).await??;
        Ok(())
    }
}

/// Listens on `127.0.0.1:0` only, and keeps WS-Discovery off (tests that exercise it run it
/// in their own network namespace).
fn on_loopback(config: &mut Config) {
    config.server.listen = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
    config.discovery.interfaces = vec!["off".into()];
}

/// The two runtimes of a benchmark: the gateway on its own multi-thread runtime, as the
/// `railgate` binary runs it, its threads named `server` (so [`thread_cpu`] measures them);
/// the load generator on a one-thread runtime named `client`, as a client in another process
/// would be.
#[derive(Debug)]
pub struct BenchRuntimes {
    /// The gateway's.
    pub server: Runtime,
    /// The load generator's.
    pub client: Runtime,
}

impl BenchRuntimes {
    /// Builds both.
    pub fn new() -> std::io::Result<BenchRuntimes> {
        let server = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("server")
            .build()?;
        let client = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("client")
            .build()?;
        Ok(BenchRuntimes { server, client })
    }

    /// Starts a [`TestGateway`] with `config` and `plan` on the server runtime.
    pub fn start(&self, config: Config, plan: Plan) -> anyhow::Result<TestGateway> {
        self.server
            .block_on(TestGateway::start_with_plan(config, plan))
    }

    /// Stops `gateway` and waits, on the server runtime, until it has stopped.
    pub fn stop(&self, gateway: TestGateway) -> anyhow::Result<()> {
        self.server.block_on(gateway.shutdown())
    }
}

/// The configuration of the SOAP load benchmarks (`railgate-load`, `railgate-tls-bench`): one
/// account sending tens of thousands of UsernameTokens per second, each of which must stay in
/// the replay cache until it goes stale.
pub fn load_config() -> Config {
    let mut config = Config::default();
    // A tight window (client and server share one clock here) and a large cache.
    config.security.created_window_secs = 10;
    // One account at benchmark rate: the per-user share (replay_cache_size is per user) holds
    // them all, and the per-user authentication rate is off (0).
    config.security.replay_cache_size = 2_000_000;
    config.security.auth_rate_per_user = 0;
    config
}

/// A SOAP 1.2 envelope around `body` (with `header` blocks), declaring tds/tt/wsse/wsu.
pub fn soap_envelope(header: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope""#,
            r#" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema""#,
            r#" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd""#,
            r#" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">"#,
            "<s:Header>{}</s:Header><s:Body>{}</s:Body></s:Envelope>"
        ),
        header, body
    )
}

/// A fresh WS-Security UsernameToken (PasswordDigest, random nonce, Created = now).
pub fn username_token(user: &str, password: &str) -> String {
    let nonce: [u8; 16] = random_bytes();
    let created = chrono_now();
    let digest = password_digest(&nonce, &created, password);
    let b64 = base64::engine::general_purpose::STANDARD.encode(nonce);
    format!(
        concat!(
            "<wsse:Security><wsse:UsernameToken><wsse:Username>{}</wsse:Username>",
            r#"<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{}</wsse:Password>"#,
            "<wsse:Nonce>{}</wsse:Nonce><wsu:Created>{}</wsu:Created></wsse:UsernameToken></wsse:Security>"
        ),
        user, digest, b64, created
    )
}

fn chrono_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// One keep-alive HTTP/1.1 connection.
#[derive(Debug)]
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Bytes,
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client {
            sender,
            host: addr.to_string(),
        })
    }

    /// POSTs `body` to `path` as SOAP 1.2.
    pub async fn post(&mut self, path: &str, body: String) -> anyhow::Result<Reply> {
        let req = http::Request::post(path)
            .header(http::header::HOST, &self.host)
            .header(
                http::header::CONTENT_TYPE,
                "application/soap+xml; charset=utf-8",
            )
            .body(Full::new(Bytes::from(body)))?;
        self.send(req).await
    }

    /// GETs `path`.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<Reply> {
        let req = http::Request::get(path)
            .header(http::header::HOST, &self.host)
            .body(Full::new(Bytes::new()))?;
        self.send(req).await
    }

    async fn send(&mut self, req: http::Request<Full<Bytes>>) -> anyhow::Result<Reply> {
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }
}

/// A GET request in HTTP/1.1 wire form.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes()
}

/// A SOAP POST request in HTTP/1.1 wire form.
pub fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An authenticated `GetDeviceInformation` (a fresh UsernameToken digest as admin) in wire
/// form.
pub fn device_information_digest() -> Vec<u8> {
    post(
        "/onvif/device_service",
        &soap_envelope(
            &username_token("admin", ADMIN_PASSWORD),
            "<tds:GetDeviceInformation/>",
        ),
    )
}

/// A minimal keep-alive HTTP/1.1 client that sends each request in one write, as SOAP
/// clients (requests, aiohttp, gSOAP) do, so the benchmark measures the server. Over plain
/// TCP ([`RawClient::connect`]) or TLS ([`RawClient::connect_tls`]).
#[derive(Debug)]
pub struct RawClient<S = TcpStream> {
    stream: S,
    buf: Vec<u8>,
    /// The body of the last response.
    pub body: Vec<u8>,
}

impl RawClient {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<RawClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient::over(stream))
    }
}

impl RawClient<tokio_rustls::client::TlsStream<TcpStream>> {
    /// Connects to `addr` and completes a TLS handshake through `connector`, checking the
    /// server's certificate for the IP address of `addr`.
    pub async fn connect_tls(
        addr: SocketAddr,
        connector: &tokio_rustls::TlsConnector,
    ) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        Ok(RawClient::over(connector.connect(name, stream).await?))
    }

    /// The TLS session (protocol version, cipher suite, ALPN).
    pub fn session(&self) -> &rustls::ClientConnection {
        self.stream.get_ref().1
    }
}

/// A TLS client configuration that trusts only the certificate in the PEM file `cert_file`
/// (the device's self-signed one: pinned, verified as usual against it, host name included),
/// with rustls' ring provider, TLS 1.2 and 1.3, and ALPN `http/1.1`. `kx_groups`: the key
/// exchange groups offered, in order of preference (the first gets the TLS 1.3 key share, and
/// the gateway follows the client's order); ring's defaults when empty.
pub fn pinned_tls_client(
    cert_file: &Path,
    kx_groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(
        cert_file,
    )?)) {
        roots.add(cert?)?;
    }
    anyhow::ensure!(!roots.is_empty(), "{}: no certificate", cert_file.display());
    // The gateway's provider (gateway/src/tls.rs).
    #[allow(
        deprecated,
        reason = "ring has no post-quantum key exchange; the gateway's server side uses ring too"
    )]
    let mut provider = rustls::crypto::ring::default_provider();
    if !kx_groups.is_empty() {
        provider.kx_groups = kx_groups.to_vec();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawClient<S> {
    fn over(stream: S) -> Self {
        RawClient {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            body: Vec::new(),
        }
    }

    /// Closes the connection: TLS close_notify (if TLS), then FIN.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.stream.shutdown().await?;
        Ok(())
    }

    /// Sends `request`, reads the whole response, returns its status.
    pub async fn request(&mut self, request: &[u8]) -> anyhow::Result<u16> {
        self.stream.write_all(request).await?;
        self.stream.flush().await?;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head
            .get(9..12)
            .ok_or_else(|| anyhow::anyhow!("bad status line"))?
            .parse()?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            })
            .map(|(_, v)| v.trim().parse())
            .transpose()?
            .unwrap_or(0);
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        self.body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok(status)
    }

    /// Creates a pull point with the `tev:CreatePullPointSubscription` element `create`
    /// (authenticated as admin) and returns the path of its address.
    pub async fn create_pull_point(&mut self, create: &str) -> anyhow::Result<String> {
        let status = self
            .request(&post(
                "/onvif/event_service",
                &soap_envelope(&username_token("admin", ADMIN_PASSWORD), create),
            ))
            .await?;
        anyhow::ensure!(status == 200, "CreatePullPointSubscription: {status}");
        let body = String::from_utf8_lossy(&self.body);
        let address = body
            .split("<wsa:Address>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or_default();
        Ok(address
            .split_once("/onvif/")
            .map(|(_, p)| format!("/onvif/{p}"))
            .unwrap_or_default())
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed");
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// What the connections of one benchmark slice did ([`run_slice`]).
#[derive(Debug, Default)]
pub struct Slice {
    /// Requests answered.
    pub requests: usize,
    /// Of which not `200`.
    pub errors: usize,
    /// From the start of the slice until its last connection ended.
    pub elapsed: Duration,
    /// Each request's latency, sorted.
    pub latencies: Vec<Duration>,
    /// CPU time of the `server` threads during the slice ([`thread_cpu`]).
    pub server_cpu: Duration,
    /// CPU time of the `client` threads during the slice.
    pub client_cpu: Duration,
}

impl Slice {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs one slice: sets up `connections` connections at once (`setup`, e.g. connect and
/// handshake; not timed), then starts the clock and runs a worker on each (`work(connection,
/// deadline)`), which works until `seconds` from then and returns its requests' latencies and
/// how many were not `200`; the first failure fails the slice.
pub async fn run_slice<C, S, SF, W, WF>(
    connections: usize,
    seconds: u64,
    setup: S,
    work: W,
) -> anyhow::Result<Slice>
where
    C: Send + 'static,
    S: Fn() -> SF,
    SF: Future<Output = anyhow::Result<C>> + Send + 'static,
    W: Fn(C, Instant) -> WF,
    WF: Future<Output = anyhow::Result<(Vec<Duration>, usize)>> + Send + 'static,
{
    let mut ready = tokio::task::JoinSet::new();
    for _ in 0..connections {
        ready.spawn(setup());
    }
    let mut set_up = Vec::with_capacity(connections);
    while let Some(r) = ready.join_next().await {
        set_up.push(r??);
    }
    let (server_before, client_before) = (thread_cpu("server"), thread_cpu("client"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for connection in set_up {
        tasks.spawn(work(connection, deadline));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r??;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    Ok(Slice {
        requests: all.len(),
        errors,
        elapsed,
        latencies: all,
        server_cpu: thread_cpu("server").saturating_sub(server_before),
        client_cpu: thread_cpu("client").saturating_sub(client_before),
    })
}

/// One case's slices over all rounds, and its throughput ratios to a baseline per round.
#[derive(Debug, Default)]
pub struct Totals {
    /// Requests answered.
    pub requests: usize,
    /// Of which not `200`.
    pub errors: usize,
    /// Time spent in its slices.
    pub elapsed: Duration,
    /// Every request's latency (sorted by [`Totals::finish`]).
    pub latencies: Vec<Duration>,
    /// Its rate over the baseline's, one per round.
    pub ratios: Vec<f64>,
    /// CPU time of the `server` threads in its slices.
    pub server_cpu: Duration,
    /// CPU time of the `client` threads in its slices.
    pub client_cpu: Duration,
}

impl Totals {
    /// Adds a slice.
    pub fn add(&mut self, slice: Slice) {
        self.requests += slice.requests;
        self.errors += slice.errors;
        self.elapsed += slice.elapsed;
        self.latencies.extend(slice.latencies);
        self.server_cpu += slice.server_cpu;
        self.client_cpu += slice.client_cpu;
    }

    /// Sorts the latencies and the ratios, once every slice is in.
    pub fn finish(&mut self) {
        self.latencies.sort_unstable();
        self.ratios.sort_by(f64::total_cmp);
    }

    /// Requests per second over all its slices.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The median of the per-round ratios (after [`Totals::finish`]; NaN when none).
    pub fn median_ratio(&self) -> f64 {
        self.ratios
            .get(self.ratios.len() / 2)
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// The `p` quantile of the latencies (after [`Totals::finish`]).
    pub fn latency(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    /// Server CPU µs per request.
    pub fn server_cpu_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    /// Client CPU µs per request.
    pub fn client_cpu_per_request(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
}

/// The `p` quantile (0..=1) of sorted durations (zero when empty).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU time (user + system) used so far by this process's threads whose name starts with
/// `prefix`, from /proc (Linux).
pub fn thread_cpu(prefix: &str) -> Duration {
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let mut ticks = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if !comm.starts_with(prefix) {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
            let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
            ticks += utime + stime;
        }
    }
    Duration::from_secs_f64(ticks as f64 / ticks_per_sec)
}
