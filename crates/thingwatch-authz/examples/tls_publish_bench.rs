//! Publish throughput over mutual TLS, policy cost side by side: an in-process broker with
//! the real authorizer (certificate registry + IoT policies from the registry), PAIRS
//! publisher/subscriber pairs over TLS (rumqttc + rustls, QoS 0, 64-byte payloads, 100
//! messages in flight per pair), run against (a) a certificate whose policy has 10 statements
//! (the allowing ones last, with policy variables) and (b) a one-statement `iot:*` policy,
//! interleaved ROUNDS times. Also times full mutual-TLS handshakes (connect + CONNACK).
//!
//! `cargo run --release -p thingwatch-authz --example tls_publish_bench -- [PAIRS=4]
//! [SECONDS=5] [ROUNDS=3]`

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thingwatch_broker::{Broker, BrokerConfig};
use thingwatch_certs::{CertificateAuthority, CertificateRegistry};
use thingwatch_events::{Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig};
use thingwatch_registry::{Registry, RegistrySettings};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn ten_statements() -> String {
    let arn = |k: &str, r: &str| format!("arn:aws:iot:{REGION}:{ACCOUNT}:{k}/{r}");
    let mut st = Vec::new();
    for i in 0..5 {
        st.push(serde_json::json!({"Effect": "Allow", "Action": "iot:Publish", "Resource": arn("topic", &format!("fleet/{i}/*"))}));
    }
    st.push(serde_json::json!({"Effect": "Deny", "Action": "iot:Publish", "Resource": arn("topic", "bench/*/secret")}));
    st.push(serde_json::json!({"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", "${iot:ClientId}")}));
    st.push(serde_json::json!({"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter", "bench/*")}));
    st.push(serde_json::json!({"Effect": "Allow", "Action": "iot:Receive", "Resource": arn("topic", "bench/*")}));
    st.push(serde_json::json!({"Effect": "Allow", "Action": "iot:Publish", "Resource": arn("topic", "bench/${iot:ClientId}/*")}));
    serde_json::json!({"Version": "2012-10-17", "Statement": st}).to_string()
}

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}"#;

struct Cert {
    pem: String,
    key: String,
}

fn tls(ca_pem: &str, cert: &Cert) -> TlsConfiguration {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let chain = CertificateDer::pem_slice_iter(cert.pem.as_bytes())
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_slice(cert.key.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    TlsConfiguration::Rustls(Arc::new(config))
}

async fn connect(port: u16, id: &str, tls: TlsConfiguration) -> (AsyncClient, rumqttc::EventLoop) {
    let mut o = MqttOptions::new(id, "localhost", port);
    o.set_transport(Transport::tls_with_config(tls));
    o.set_keep_alive(Duration::from_secs(60));
    o.set_inflight(100);
    let (c, mut el) = AsyncClient::new(o, 200);
    // Without TCP_NODELAY the client's CONNECT waits for a delayed ACK (~40 ms).
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    el.set_network_options(net);
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => return (c, el),
            Ok(_) => {}
            Err(e) => panic!("{id}: {e}"),
        }
    }
}

/// Delivered messages/s for PAIRS pairs over `seconds`.
async fn run(port: u16, ca: &str, cert: &Cert, tag: &str, pairs: usize, seconds: u64) -> f64 {
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for p in 0..pairs {
        let sub_id = format!("{tag}-s{p}");
        let pub_id = format!("{tag}-p{p}");
        let topic = format!("bench/{pub_id}/t");
        let (sc, mut sel) = connect(port, &sub_id, tls(ca, cert)).await;
        sc.subscribe(&topic, QoS::AtMostOnce).await.unwrap();
        loop {
            if let Ok(Event::Incoming(Incoming::SubAck(_))) = sel.poll().await {
                break;
            }
        }
        let (pc, mut pel) = connect(port, &pub_id, tls(ca, cert)).await;
        let (r, s) = (received.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Ok(Ok(Event::Incoming(Incoming::Publish(_)))) =
                    tokio::time::timeout(Duration::from_millis(200), sel.poll()).await
                {
                    r.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
        let s = stop.clone();
        tasks.push(tokio::spawn(async move {
            let payload = vec![b'x'; 64];
            while !s.load(Ordering::Relaxed) {
                if pc
                    .try_publish(&topic, QoS::AtMostOnce, false, payload.clone())
                    .is_err()
                {
                    // Request queue full: drive the event loop.
                }
                let _ = tokio::time::timeout(Duration::from_millis(50), pel.poll()).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = received.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let n = received.load(Ordering::Relaxed) - start;
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    rate
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (pairs, seconds, rounds) = (arg(1, 4) as usize, arg(2, 5), arg(3, 3));
    let dir = tempfile::tempdir().unwrap();
    let logger = Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(MemorySink::new()),
    );
    let registry = Registry::open(
        &dir.path().join("registry"),
        RegistrySettings {
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            max_log_targets: 10,
        },
        logger.clone(),
        LoggingConfig::default(),
    )
    .unwrap();
    let ca = Arc::new(CertificateAuthority::load_or_create(dir.path(), &[]).unwrap());
    let certs =
        CertificateRegistry::open(&dir.path().join("certs"), ca.clone(), REGION, ACCOUNT).unwrap();
    let now = thingwatch_events::now_ms();
    let mut made = Vec::new();
    for (name, doc) in [
        ("Ten", ten_statements()),
        ("AllowAll", ALLOW_ALL.to_owned()),
    ] {
        let c = certs.create_keys_and_certificate(true).unwrap();
        registry.create_policy(name, &doc, now).unwrap();
        registry.attach_policy(name, &c.certificate_arn).unwrap();
        made.push(Cert {
            pem: c.certificate_pem.clone(),
            key: c.key_pair.private_key.clone(),
        });
    }
    let authorizer = thingwatch_authz::IotAuthorizer::new(
        certs.clone(),
        Arc::new(registry.clone()),
        None,
        REGION,
        ACCOUNT,
    );
    let broker = Broker::open(
        &dir.path().join("broker"),
        BrokerConfig::default(),
        logger.clone(),
        Arc::new(authorizer),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls_config = certs.server_config().unwrap();
    let b = broker.clone();
    tokio::spawn(async move {
        b.serve_tls(listener, tls_config, std::future::pending())
            .await
    });

    // Handshakes: sequential TCP connect → mutual TLS → CONNACK, timed to the CONNACK.
    let mut busy = Duration::ZERO;
    let n = 200;
    for i in 0..n {
        let t0 = Instant::now();
        let (c, el) = connect(port, &format!("hs-{i}"), tls(ca.ca_pem(), &made[1])).await;
        busy += t0.elapsed();
        drop(c);
        drop(el);
    }
    let handshakes = f64::from(n) / busy.as_secs_f64();

    let (mut ten, mut all) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        ten.push(
            run(
                port,
                ca.ca_pem(),
                &made[0],
                &format!("ten{r}"),
                pairs,
                seconds,
            )
            .await,
        );
        all.push(
            run(
                port,
                ca.ca_pem(),
                &made[1],
                &format!("all{r}"),
                pairs,
                seconds,
            )
            .await,
        );
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (t, a) = (med(&mut ten), med(&mut all));
    println!(
        "{{\"pairs\":{pairs},\"seconds\":{seconds},\"rounds\":{rounds},\"tls_handshakes_per_s\":{handshakes:.0},\"ten_statement_msgs_per_s\":{t:.0},\"allow_all_msgs_per_s\":{a:.0},\"ratio\":{:.3},\"ten_runs\":{ten:?},\"allow_all_runs\":{all:?}}}",
        t / a
    );
}
