//! A forward proxy for plain HTTP on loopback that records what it was asked for: the
//! proof that an application's own `reqwest::Client` (with `Proxy::http`) is the one
//! authgate sends its server-to-server requests with.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy (`http://{addr}`), stopped when dropped.
#[derive(Debug)]
pub struct HttpProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpProxy {
    /// Starts a proxy on `127.0.0.1:0`.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, log.clone()));
            }
        });
        Self { addr, seen, task }
    }

    /// The proxy URL, for `reqwest::Proxy::http`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests forwarded so far, as `METHOD absolute-URL`, in order.
    ///
    /// # Panics
    ///
    /// If a forwarding task panicked while holding the log.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("the proxy log").clone()
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forwards one request (its head and, when it has a `content-length`, its body) to
/// the origin named in its absolute URL, and the answer back, then closes.
async fn forward(mut client: TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let Ok(head) = String::from_utf8(head) else {
        return;
    };
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return;
    };
    let Ok(url) = url::Url::parse(target) else {
        return;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return;
    };
    seen.lock()
        .expect("the proxy log")
        .push(format!("{method} {target}"));
    let Ok(mut upstream) = TcpStream::connect((host, port)).await else {
        return;
    };
    let path = &target[url.origin().ascii_serialization().len()..];
    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    let mut body_len = 0;
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name = name.trim().to_ascii_lowercase();
        if name == "content-length" {
            body_len = value.trim().parse().unwrap_or(0);
        }
        if name != "connection" && name != "proxy-connection" {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("connection: close\r\n\r\n");
    let mut body = vec![0u8; body_len];
    if client.read_exact(&mut body).await.is_err()
        || upstream.write_all(forwarded.as_bytes()).await.is_err()
        || upstream.write_all(&body).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy(&mut upstream, &mut client).await;
    let _ = client.shutdown().await;
}
