//! A load generator for an agency service, over plain keep-alive HTTP/1.1 connections.
//!
//! The client is a few dozen lines on tokio's `TcpStream` rather than a general HTTP client,
//! so that on a small machine shared with the server it costs as little CPU as possible and
//! the measurement is of the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::codes::{mobile_digits, national_code_digits, postal_digits};
use crate::population::Population;
use crate::server::Service;

/// The outcome of a benchmark run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchReport {
    /// Requests answered (any status).
    pub requests: u64,
    /// Answers that were not `200 OK`.
    pub errors: u64,
    pub seconds: f64,
    pub req_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl BenchReport {
    /// `(requests per second, p50 µs, p99 µs)`.
    pub fn summary(&self) -> (f64, u64, u64) {
        (self.req_per_s, self.p50_us, self.p99_us)
    }
}

/// Benchmarks `POST /v1/civil-registry/person` at `addr` with `requests` requests over
/// `concurrency` connections. See [`bench_service`].
pub async fn bench_direct(
    addr: SocketAddr,
    requests: u64,
    concurrency: usize,
) -> std::io::Result<BenchReport> {
    bench_service(addr, Service::CivilRegistryPerson, requests, concurrency).await
}

/// Benchmarks one service: asks `GET /healthz` for the seed and size, then sends requests for
/// people spread over the whole population (about one in sixteen is a valid national code of
/// nobody, as in real traffic), each connection keeping one request in flight.
pub async fn bench_service(
    addr: SocketAddr,
    service: Service,
    requests: u64,
    concurrency: usize,
) -> std::io::Result<BenchReport> {
    let (seed, size) = health(addr).await?;
    let pop = Arc::new(
        Population::new(seed, size)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (pop, next) = (pop.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await?;
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut body = Vec::with_capacity(128);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= requests {
                    break;
                }
                request_body(&pop, service, k, &mut body);
                let t = Instant::now();
                let status = conn.post(service.path(), &body).await?;
                latencies.push(t.elapsed().as_micros() as u64);
                if status != 200 {
                    errors += 1;
                }
            }
            Ok::<_, std::io::Error>((latencies, errors))
        }));
    }
    let mut all = Vec::with_capacity(requests as usize);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.map_err(std::io::Error::other)??;
        all.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> u64 {
        if all.is_empty() {
            0
        } else {
            all[((all.len() - 1) as f64 * p).round() as usize]
        }
    };
    Ok(BenchReport {
        requests: all.len() as u64,
        errors,
        seconds,
        req_per_s: all.len() as f64 / seconds.max(1e-9),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        max_us: all.last().copied().unwrap_or(0),
    })
}

/// The JSON body of request `k`.
fn request_body(pop: &Population, service: Service, k: u64, out: &mut Vec<u8>) {
    out.clear();
    let size = pop.size().max(1);
    // A multiplicative spread over the population, and every 16th code outside it.
    let index = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) % size;
    let outside = k % 16 == 15 && pop.size() < crate::codes::NATIONAL_CODE_SPACE;
    let code = if outside {
        // An index past the end: a valid national code that belongs to nobody.
        let beyond = pop.size() + k % (crate::codes::NATIONAL_CODE_SPACE - pop.size());
        national_code_digits(pop.codes().national_body(beyond))
    } else {
        national_code_digits(pop.codes().national_body(index))
    };
    let code = std::str::from_utf8(&code).expect("ASCII");
    let push = |out: &mut Vec<u8>, s: &str| out.extend_from_slice(s.as_bytes());
    match service {
        Service::CivilRegistryPerson | Service::TrafficFines => {
            push(out, "{\"national_code\":\"");
            push(out, code);
            push(out, "\"}");
        }
        Service::MobileOwnership => {
            let m = mobile_digits(pop.codes().mobile_slot(index));
            push(out, "{\"national_code\":\"");
            push(out, code);
            push(out, "\",\"mobile\":\"");
            push(out, std::str::from_utf8(&m).expect("ASCII"));
            push(out, "\"}");
        }
        Service::PostalAddress | Service::PostalAddressMatch => {
            let h = index % crate::population::household_count(size);
            let p = postal_digits(pop.codes().postal_rank(h));
            push(out, "{\"postal_code\":\"");
            push(out, std::str::from_utf8(&p).expect("ASCII"));
            if service == Service::PostalAddressMatch {
                push(out, "\",\"national_code\":\"");
                push(out, code);
            }
            push(out, "\"}");
        }
    }
}

async fn health(addr: SocketAddr) -> std::io::Result<(u64, u64)> {
    let mut conn = Conn::connect(addr).await?;
    let status = conn.get("/healthz").await?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    if status != 200 {
        return Err(bad("GET /healthz did not answer 200"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&conn.body).map_err(|_| bad("GET /healthz is not JSON"))?;
    let seed = v["seed"]
        .as_u64()
        .ok_or_else(|| bad("healthz has no seed"))?;
    let size = v["size"]
        .as_u64()
        .ok_or_else(|| bad("healthz has no size"))?;
    Ok((seed, size))
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    used: usize,
    body: Vec<u8>,
    request: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
            used: 0,
            body: Vec::new(),
            request: Vec::with_capacity(512),
        })
    }

    async fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<u16> {
        self.request.clear();
        self.request.extend_from_slice(b"POST ");
        self.request.extend_from_slice(path.as_bytes());
        self.request.extend_from_slice(
            b" HTTP/1.1\r\nhost: agency\r\ncontent-type: application/json\r\ncontent-length: ",
        );
        self.request
            .extend_from_slice(body.len().to_string().as_bytes());
        self.request.extend_from_slice(b"\r\n\r\n");
        self.request.extend_from_slice(body);
        write_all(&self.stream, &self.request).await?;
        self.read_response().await
    }

    async fn get(&mut self, path: &str) -> std::io::Result<u16> {
        self.request.clear();
        self.request.extend_from_slice(b"GET ");
        self.request.extend_from_slice(path.as_bytes());
        self.request
            .extend_from_slice(b" HTTP/1.1\r\nhost: agency\r\n\r\n");
        write_all(&self.stream, &self.request).await?;
        self.read_response().await
    }

    /// Reads one response with a `content-length` (what the agency server sends); returns
    /// its status and leaves its body in `self.body`.
    async fn read_response(&mut self) -> std::io::Result<u16> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        if self.used > 0 {
            self.buf.drain(..self.used);
            self.used = 0;
        }
        let head_end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| bad("non-UTF-8 response head"))?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let length: usize = head
            .split("\r\n")
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())
                    .flatten()
            })
            .ok_or_else(|| bad("response without content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        self.body.clear();
        self.body
            .extend_from_slice(&self.buf[head_end..head_end + length]);
        self.used = head_end + length;
        Ok(status)
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = read_some(&self.stream, &mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// Writes all of `bytes` (tokio's `io-util` extension traits are not among the workspace's
/// features, and readiness plus `try_write` is all they would do here).
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn read_some(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
