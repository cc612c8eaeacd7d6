//! A loopback HTTP proxy in front of the test registry that adds a fixed delay to every request
//! (a simulated round trip) and can answer some requests itself with a fault (429 with
//! Retry-After, 503, a reset connection). Used by the retry tests and the benchmark.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{Server, read_request, write_response};

/// What the proxy does instead of forwarding.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and headers (and a registry-style error body).
    Status(u16, Vec<(&'static str, String)>),
    /// Answer with this status, headers and body.
    Body(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Close the connection without answering.
    Reset,
}

/// Decides, per request (method, path, how many times this method+path was seen before), whether
/// to inject a fault.
pub type FaultPlan = dyn Fn(&str, &str, usize) -> Option<Fault> + Send + Sync;

/// A request the proxy saw and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The status returned to the client (0 for a reset).
    pub status: u16,
}

pub struct Proxy {
    pub addr: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _server: Server,
}

/// Forwards one request upstream (a connection of its own) and returns the whole response.
fn forward(upstream: &str, req: &super::http::Request) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = up.set_nodelay(true);
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&req.body);
    up.write_all(&bytes).ok()?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).ok()?;
    Some(response)
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`) adding `delay` to each request.
    pub fn start(upstream: &str, delay: Duration, plan: Box<FaultPlan>) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let upstream = upstream.to_string();
        let plan: Arc<FaultPlan> = Arc::from(plan);
        let server = Server::start(move |stream| {
            serve(stream, &upstream, delay, &*plan, &log);
        });
        Self {
            addr: server.addr.clone(),
            seen,
            _server: server,
        }
    }

    /// [`Self::start`] without faults, keeping client connections open between requests
    /// (HTTP/1.1 keep-alive): each request still costs `delay`, a connection's setup does not.
    /// The benchmark's fleet case, where the least client and bpdrift both reuse connections.
    pub fn start_keep_alive(upstream: &str, delay: Duration) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let upstream = upstream.to_string();
        let server = Server::start(move |client| {
            let _ = client.set_nodelay(true);
            let mut reader = BufReader::new(client.try_clone().expect("clone stream"));
            let mut client = client;
            while let Some(req) = read_request(&mut reader) {
                std::thread::sleep(delay);
                let Some(response) = forward(&upstream, &req) else {
                    return;
                };
                let split = response
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map(|i| i + 4)
                    .unwrap_or(response.len());
                let head = String::from_utf8_lossy(&response[..split]).into_owned();
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                log.lock().unwrap().push(Seen {
                    method: req.method.clone(),
                    path: req.path().to_string(),
                    status,
                });
                // The upstream's answer is whole: framed by its length, it can stay open.
                let framed = head
                    .lines()
                    .any(|l| l.to_ascii_lowercase().starts_with("content-length:"))
                    || req.method == "HEAD";
                let mut out = String::new();
                for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                    if !line.to_ascii_lowercase().starts_with("connection:") {
                        out.push_str(line);
                        out.push_str("\r\n");
                    }
                }
                if !framed {
                    out.push_str("Connection: close\r\n");
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&response[split..]);
                if client.write_all(&bytes).is_err() || !framed {
                    return;
                }
                let _ = client.flush();
                let closing = req
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                if closing {
                    return;
                }
            }
        });
        Self {
            addr: server.addr.clone(),
            seen,
            _server: server,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    delay: Duration,
    plan: &FaultPlan,
    log: &Mutex<Vec<Seen>>,
) {
    // No Nagle on either socket: each answer goes out whole, at once (see `write_response`).
    let _ = client.set_nodelay(true);
    let mut reader = BufReader::new(client.try_clone().expect("clone stream"));
    let mut client = client;
    // One request per connection: every answer carries `Connection: close`, so the client opens
    // a new connection for its next request (and pays the simulated round trip again).
    if let Some(req) = read_request(&mut reader) {
        let path = req.path().to_string();
        let n = log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == req.method && s.path == path)
            .count();
        std::thread::sleep(delay);
        match plan(&req.method, &path, n) {
            Some(Fault::Reset) => {
                log.lock().unwrap().push(Seen {
                    method: req.method,
                    path,
                    status: 0,
                });
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Status(status, headers)) => {
                log.lock().unwrap().push(Seen {
                    method: req.method,
                    path,
                    status,
                });
                let _ = write_response(&mut client, status, &headers, b"{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"injected by the test proxy\"}]}");
                return;
            }
            Some(Fault::Body(status, headers, body)) => {
                log.lock().unwrap().push(Seen {
                    method: req.method,
                    path,
                    status,
                });
                let _ = write_response(&mut client, status, &headers, &body);
                return;
            }
            None => {}
        }
        let Some(response) = forward(upstream, &req) else {
            return;
        };
        let status = std::str::from_utf8(&response[..response.len().min(12)])
            .ok()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        log.lock().unwrap().push(Seen {
            method: req.method.clone(),
            path,
            status,
        });
        // The upstream answered with `Connection: close`; so does the proxy, and the client
        // opens a new connection for its next request.
        if client.write_all(&response).is_err() {
            return;
        }
        let _ = client.flush();
        let _ = client.shutdown(Shutdown::Write);
    }
}
