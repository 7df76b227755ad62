//! Sending one signed message over HTTP, to an address the policy allows.
//!
//! The client resolves host names itself and refuses the whole delivery when any
//! address is internal, then connects only to what it checked, so a name that
//! resolves inward at delivery time (DNS rebinding) is caught as well as one that
//! did when the endpoint was saved. It follows no redirects (a redirect is a failed
//! attempt, as the Standard Webhooks specification has it) and uses no proxy.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hilo_domain::webhooks::destination::refused;
use hilo_domain::webhooks::{AddressPolicy, Destination};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// An attempt gives up after this long; any 2xx within it is a success.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes of the answer kept with each attempt.
const ANSWER_EXCERPT: usize = 1_024;

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: Option<u16>,
    pub duration_ms: i64,
    /// The first bytes of the answer's body, or what went wrong.
    pub excerpt: String,
}

impl Answer {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The HTTP client of webhook deliveries, made on first use.
pub struct Sender {
    policy: AddressPolicy,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Sender {
    pub fn new(policy: AddressPolicy) -> Self {
        Self {
            policy,
            client: OnceLock::new(),
        }
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// The guarded client, for any outbound call to an address an admin set (provider
    /// APIs too).
    pub(crate) fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                install_crypto_provider();
                reqwest::Client::builder()
                    .dns_resolver(Arc::new(Guarded(self.policy)))
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .timeout(ATTEMPT_TIMEOUT)
                    .connect_timeout(Duration::from_secs(5))
                    .user_agent(concat!("Hilo-Webhooks/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot make the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Posts `body` with the Standard Webhooks headers.
    pub async fn post(
        &self,
        destination: &Destination,
        headers: [(&'static str, String); 3],
        body: Vec<u8>,
    ) -> Answer {
        let started = Instant::now();
        let failed = |excerpt: String| Answer {
            status: None,
            duration_ms: elapsed_ms(started),
            excerpt,
        };
        if let Some(address) = destination.ip_literal()
            && !self.policy.allows(address)
        {
            return failed(refused(address).reason);
        }
        let client = match self.client() {
            Ok(client) => client,
            Err(error) => return failed(error),
        };
        let mut request = client
            .post(destination.as_str())
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(describe(&error)),
        };
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < ANSWER_EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(ANSWER_EXCERPT);
        Answer {
            status: Some(status),
            duration_ms: elapsed_ms(started),
            excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
        }
    }
}

/// Makes ring the process's TLS provider, which every HTTP client built with this
/// workspace's reqwest needs before it is made; a second call finds it installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Words for a failed request, with its causes (reqwest's own message is terse);
/// provider API calls use it too.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Resolves host names, refusing every answer that holds an address the policy does
/// not allow.
struct Guarded(AddressPolicy);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolve_checked(&host, 0, policy)
                .await
                .map_err(|reason| -> Box<dyn std::error::Error + Send + Sync> { reason.into() })?;
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// Every address `host` resolves to, if the policy allows them all.
async fn resolve_checked(
    host: &str,
    port: u16,
    policy: AddressPolicy,
) -> Result<Vec<SocketAddr>, String> {
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((host, port)),
    )
    .await
    .map_err(|_| format!("{host} did not resolve within 5 s"))?
    .map_err(|_| format!("{host} does not resolve"))?
    .collect();
    if addresses.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if let Some(bad) = addresses.iter().find(|a| !policy.allows(a.ip())) {
        return Err(refused(bad.ip()).reason);
    }
    Ok(addresses)
}
