//! A Slack-like receiver on 127.0.0.1: a real HTTP server (axum on its own tokio runtime in a
//! background thread) that answers each request with the next scripted reply (200 `ok` once
//! the script runs out) and records what it received.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 `ok`.
    Ok,
    /// This status and body, with `Retry-After` if given.
    Status(u16, &'static str, Option<&'static str>),
    /// Answer 200 only after this long (longer than the sink's timeout: a hang).
    Hang(Duration),
    /// This status, with a body echoing the request's `Authorization` header, the token after
    /// its scheme, and the request path (a receiver that reflects its input).
    Echo(u16),
    /// This status, with a body that never ends.
    Endless(u16),
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The JSON body.
    pub body: serde_json::Value,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The request path.
    pub path: String,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    received: Vec<Received>,
}

/// The running receiver; stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Receiver {
    /// Listens on `port` (0: any free port).
    pub fn start(port: u16, script: Vec<Reply>) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner { script: script.into(), received: Vec::new() }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let shared = inner.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                let app =
                    axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
                        let shared = shared.clone();
                        async move { answer(shared, uri.path().to_owned(), headers, body).await }
                    });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let addr = ready_rx.recv_timeout(Duration::from_secs(10)).expect("receiver started");
        Receiver { addr, inner, _stop: stop }
    }

    /// The webhook URL for `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Adds replies to the script.
    pub fn script(&self, replies: Vec<Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }
}

async fn answer(inner: Arc<Mutex<Inner>>, path: String, headers: HeaderMap, body: String) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let echo = format!(
        "denied: Authorization: {auth} (token {token}) for {path}",
        auth = header("authorization").unwrap_or_default(),
        token = header("authorization").unwrap_or_default().split_once(' ').map_or("", |t| t.1).to_owned(),
    );
    let reply = {
        let mut g = inner.lock().unwrap();
        g.received.push(Received {
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            idempotency_key: header("idempotency-key"),
            content_type: header("content-type"),
            authorization: header("authorization"),
            path,
        });
        g.script.pop_front().unwrap_or(Reply::Ok)
    };
    match reply {
        Reply::Ok => (StatusCode::OK, "ok").into_response(),
        Reply::Status(code, body, retry_after) => {
            let mut r = (StatusCode::from_u16(code).unwrap(), body).into_response();
            if let Some(v) = retry_after {
                r.headers_mut().insert("retry-after", v.parse().unwrap());
            }
            r
        }
        Reply::Echo(code) => (StatusCode::from_u16(code).unwrap(), echo).into_response(),
        Reply::Endless(code) => {
            let chunk = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
            let body = futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            (StatusCode::from_u16(code).unwrap(), axum::body::Body::from_stream(body)).into_response()
        }
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "ok").into_response()
        }
    }
}
