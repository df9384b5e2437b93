//! The Redis store (feature `redis`).

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Deliver, Store, StoreError, StoreFuture};

const BACKEND: &str = "redis";

/// A [`Store`] in Redis, for several instances behind a load balancer.
///
/// `put` is `SET key value EX ttl` (whole seconds, rounded up) and `take` is `GETDEL`
/// (Redis 6.2 or later), which is atomic on the server: of concurrent takes of one
/// key, exactly one gets the value. Keys carry a prefix (default `authgate:`).
///
/// The connection is re-established in the background when it drops. While Redis is
/// down every call fails quickly with a [`StoreError`] (the flow answers 503): the
/// connect and response timeouts default to one second and the whole call to two.
/// A call that fails on a broken connection is tried once more on a fresh one; that
/// is safe for both operations (a repeated `GETDEL` finds nothing, so a code can never
/// be used twice).
///
/// ```no_run
/// # async fn run() -> Result<(), authgate_flow::store::StoreError> {
/// use authgate_flow::store::RedisStore;
/// use std::time::Duration;
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379/0")
///     .key_prefix("shop:auth:")
///     .timeout(Duration::from_millis(500))
///     .connect()
///     .await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    /// For the blocking stream reads of [`Store::subscribe`], on their own connection.
    client: redis::Client,
    connect_timeout: Duration,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisStore`]; made by [`RedisStore::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
}

impl RedisStore {
    /// Connects with the default settings (see [`builder`](Self::builder)).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the URL is invalid or Redis cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Starts configuring a store for this URL (`redis://[user:password@]host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: String::from("authgate:"),
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
        }
    }

    /// The key prefix.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let attempt = async {
            let mut conn = self.conn.clone();
            match cmd.query_async::<T>(&mut conn).await {
                Err(err) if is_connection_error(&err) => {
                    // The manager has started reconnecting: try once on the new connection.
                    tracing::debug!(error = %err, "redis connection lost; retrying once");
                    cmd.query_async::<T>(&mut conn).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::unavailable(BACKEND, err)),
            Err(_) => Err(StoreError::Timeout {
                backend: BACKEND,
                timeout: self.timeout,
            }),
        }
    }
}

fn is_connection_error(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

impl RedisStoreBuilder {
    /// The prefix of every key (default `authgate:`), to share a Redis database.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a store call may take, retry included (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest a connection attempt or a single response may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Connects now, so a wrong URL or an unreachable Redis fails at start-up.
    ///
    /// Must be called inside a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the URL is invalid or Redis cannot be reached,
    /// [`StoreError::Timeout`] when connecting takes longer than the timeout.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| StoreError::unavailable(BACKEND, e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.connect_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let conn = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| StoreError::Timeout {
            backend: BACKEND,
            timeout: self.timeout,
        })?
        .map_err(|e| StoreError::unavailable(BACKEND, e))?;
        Ok(RedisStore {
            conn,
            client,
            connect_timeout: self.connect_timeout,
            prefix: self.prefix,
            timeout: self.timeout,
        })
    }
}

impl Store for RedisStore {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // EX takes whole seconds; round up so an entry never dies early.
            let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{}{key}", self.prefix))
                .arg(value)
                .arg("EX")
                .arg(secs.max(1));
            self.run::<()>(&cmd).await
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GETDEL");
            cmd.arg(format!("{}{key}", self.prefix));
            self.run::<Option<Vec<u8>>>(&cmd).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(format!("{}{key}", self.prefix));
            self.run::<Option<Vec<u8>>>(&cmd).await
        })
    }

    /// `XADD {prefix}revocations MINID ~ <now - 1 day> * m <message>`: a stream, so an
    /// instance that was disconnected (or starts later) reads what it missed.
    fn publish<'a>(&'a self, message: &'a [u8]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let min_id = now_ms.saturating_sub(STREAM_KEEP.as_millis());
            let mut cmd = redis::cmd("XADD");
            cmd.arg(self.stream_key())
                .arg("MINID")
                .arg("~")
                .arg(min_id.to_string())
                .arg("*")
                .arg("m")
                .arg(message);
            self.run::<String>(&cmd).await.map(|_| ())
        })
    }

    /// Reads the stream from its start with `XREAD BLOCK` on a connection of its own:
    /// a new entry wakes the read at once, and after a failure the read reconnects and
    /// resumes after the last entry it delivered.
    fn subscribe<'a>(&'a self, deliver: Deliver) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut last = String::from("0");
            loop {
                if let Err(err) = self.read_stream(&mut last, &deliver).await {
                    tracing::debug!(error = %err, "revocation stream read failed; reconnecting");
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        })
    }
}

/// How long published revocations are kept in the stream (longer than any token they
/// can cover is worth keeping).
const STREAM_KEEP: Duration = Duration::from_secs(24 * 3600);
/// How long one `XREAD` waits for a new entry before asking again.
const STREAM_BLOCK: Duration = Duration::from_millis(500);
/// The pause before reconnecting the stream reader.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

impl RedisStore {
    fn stream_key(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    /// One connection's worth of stream reads; returns on the first error.
    async fn read_stream(&self, last: &mut String, deliver: &Deliver) -> redis::RedisResult<()> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(STREAM_BLOCK + self.connect_timeout));
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let key = self.stream_key();
        loop {
            let mut cmd = redis::cmd("XREAD");
            cmd.arg("COUNT")
                .arg(512)
                .arg("BLOCK")
                .arg(u64::try_from(STREAM_BLOCK.as_millis()).unwrap_or(500))
                .arg("STREAMS")
                .arg(&key)
                .arg(last.as_str());
            let reply: redis::Value = cmd.query_async(&mut conn).await?;
            for (id, message) in stream_entries(reply) {
                deliver(&message);
                *last = id;
            }
        }
    }
}

/// The `(id, m)` pairs of an `XREAD` reply (nil when nothing arrived).
fn stream_entries(reply: redis::Value) -> Vec<(String, Vec<u8>)> {
    use redis::Value;
    fn text(value: &Value) -> Option<String> {
        match value {
            Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn items(value: Value) -> Vec<Value> {
        match value {
            Value::Array(items) | Value::Set(items) => items,
            Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => Vec::new(),
        }
    }
    let mut out = Vec::new();
    // RESP2: [[key, [[id, [field, value, ...]], ...]]]; RESP3 may answer a map.
    let streams = items(reply);
    let mut streams = streams.into_iter();
    while let Some(stream) = streams.next() {
        let entries = match stream {
            Value::Array(mut pair) if pair.len() == 2 => pair.pop().map(items).unwrap_or_default(),
            // A map was flattened: key, entries, key, entries, ...
            key @ (Value::BulkString(_) | Value::SimpleString(_)) => {
                let _ = key;
                streams.next().map(items).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        for entry in entries {
            let mut entry = items(entry).into_iter();
            let (Some(id), Some(fields)) = (entry.next(), entry.next()) else {
                continue;
            };
            let Some(id) = text(&id) else { continue };
            let mut fields = items(fields).into_iter();
            while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
                if text(&name).as_deref() == Some("m")
                    && let Value::BulkString(bytes) = value
                {
                    out.push((id.clone(), bytes));
                }
            }
        }
    }
    out
}
