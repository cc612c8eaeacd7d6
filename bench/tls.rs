//! HTTPS: HTTP/2 against HTTP/1.1 (docker-registry with `http.http2.disabled`), through a
//! TCP-level delay so the handshake pays its round trip too.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{self, Registry};
use crate::measure::{lower_bound, timed};

/// A TCP proxy that holds every chunk the client sends for `delay` before passing it on (the
/// answers flow back at once): each round trip costs `delay`, whatever is inside the stream —
/// TLS handshakes included, HTTP/2 multiplexing and HTTP/1.1 connection counts included.
struct TcpDelay {
    addr: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TcpDelay {
    fn start(upstream: &str, delay: Duration) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream = upstream.to_string();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(up) = TcpStream::connect(&upstream) else {
                    continue;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = client.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
                let mut c_read = client.try_clone().unwrap();
                let mut u_write = up.try_clone().unwrap();
                let mut u_read = up;
                let mut c_write = client;
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0
                            || tx
                                .send((Instant::now() + delay, buf[..n].to_vec()))
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                std::thread::spawn(move || {
                    for (due, bytes) in rx {
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        if u_write.write_all(&bytes).is_err() {
                            break;
                        }
                    }
                    let _ = u_write.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self { addr, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// bpdrift over HTTPS (own CA) with HTTP/2 and with HTTP/1.1 (the registry's h2 switched off),
/// through [`TcpDelay`]: the cold two-image diff and a cold 100-image inspect.
pub(crate) fn case(md: &mut String, plain: &Registry, rtt: Duration, jobs: usize) {
    let pki = common::tls::Pki::new();
    let h2 = Registry::start_tls(&pki, false);
    let h1 = Registry::start_tls_http1(&pki);
    let n = 100;
    note!("bench: TLS: copying {n} images…");
    for reg in [&h2, &h1] {
        for i in 0..n {
            let out = Command::new("skopeo")
                .args([
                    "copy",
                    "--quiet",
                    "--src-tls-verify=false",
                    "--dest-cert-dir",
                ])
                .arg(pki.client_dir())
                .arg(format!("docker://{}/bench/app:t{i}", plain.addr))
                .arg(format!("docker://{}/bench/app:t{i}", reg.name))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    writeln!(md).unwrap();
    writeln!(md, "### HTTPS: HTTP/2 against HTTP/1.1").unwrap();
    writeln!(md).unwrap();
    writeln!(md, "docker-registry over TLS 1.3 with the test's own CA (`--ca-file`), once with HTTP/2 (ALPN `h2`) and once with `http.http2.disabled`, behind a TCP proxy that delays every client-to-server chunk by {:.0} ms (so the TLS handshake pays its round trip too). Cold cache. Lower bound: 1 RTT for the handshake + the request round trips.", rtt.as_secs_f64() * 1000.0).unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| images | protocol | wall s | TCP connections | lower bound s | ratio |"
    )
    .unwrap();
    writeln!(md, "|---:|---|---:|---:|---:|---:|").unwrap();
    for (reg, proto) in [(&h2, "HTTP/2"), (&h1, "HTTP/1.1")] {
        let port = reg.name.rsplit(':').next().unwrap().to_string();
        let proxy = TcpDelay::start(&format!("127.0.0.1:{port}"), rtt);
        let proxy_port = proxy.addr.rsplit(':').next().unwrap().to_string();
        let host = format!("{}:{proxy_port}", common::tls::TEST_HOST);
        for count in [2usize, n] {
            let cache = tempfile::tempdir().unwrap();
            let mut args: Vec<String> = if count == 2 {
                vec!["diff".into(), "--fail-on".into(), "never".into()]
            } else {
                vec!["inspect".into(), "--format".into(), "json".into()]
            };
            args.extend([
                "--ca-file".into(),
                pki.ca.display().to_string(),
                "--jobs".into(),
                jobs.to_string(),
                "--cache-dir".into(),
                cache.path().display().to_string(),
            ]);
            args.extend((0..count).map(|i| format!("{host}/bench/app:t{i}")));
            let before = proxy.connections();
            let (secs, _) = timed(env!("CARGO_BIN_EXE_bpdrift"), &args);
            let lower = rtt.as_secs_f64() + lower_bound(2 * count, jobs, rtt);
            writeln!(
                md,
                "| {count} | {proto} | {secs:.2} | {} | {lower:.2} | {:.2}× |",
                proxy.connections() - before,
                secs / lower
            )
            .unwrap();
        }
    }
}
