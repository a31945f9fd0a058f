//! A focused client for the OCI distribution API: manifests and blobs, streamed.
//!
//! Every request goes through [`RegistryClient::send`]: authentication on demand (the
//! registry's `WWW-Authenticate` challenge is answered once and the header reused),
//! retries with backoff, redirects followed without the `Authorization` header leaving
//! the registry's host. TLS uses the system's roots; plain HTTP only for loopback or a
//! registry named by `--insecure`.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ureq::http::{Response, StatusCode};

use crate::digest::Digest;
use crate::error::SourceError;
use crate::reference::Reference;
use crate::registry::auth::{self, AuthHeader};
use crate::registry::blob::BlobReader;
use crate::registry::challenge::Challenge;
use crate::registry::connect::{ConnectTo, OverridingResolver};
use crate::registry::credentials::{Credential, CredentialSources};
use crate::registry::http::{self, MAX_REDIRECTS, RetryPolicy};
use crate::spec::media_type;

/// Every manifest type imgprof reads, as the Accept header lists them.
const MANIFEST_ACCEPT: &str = concat!(
    "application/vnd.oci.image.index.v1+json, ",
    "application/vnd.docker.distribution.manifest.list.v2+json, ",
    "application/vnd.oci.image.manifest.v1+json, ",
    "application/vnd.docker.distribution.manifest.v2+json"
);

/// Largest manifest or config imgprof reads into memory.
const MAX_DOCUMENT: u64 = 32 << 20;

/// How imgprof talks to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) that may be spoken to over plain HTTP besides loopback.
    pub insecure: Vec<String>,
    pub credentials: CredentialSources,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// A read that waits longer than this for a byte fails (and a blob stream resumes).
    pub stall_timeout: Duration,
    /// PEM files of CAs trusted besides the system's (`--ca-cert`).
    pub ca_certs: Vec<PathBuf>,
    /// Hosts reached at another address (`--resolve`).
    pub connect_to: Vec<ConnectTo>,
    /// Clients of this run, shared by every clone of these options.
    pub sessions: Sessions,
}

/// The clients of one run, by registry and repository: a second image of a repository
/// (another platform of an index, the other side of `compare`) reuses the token, the
/// connections and the documents already read (so every platform is listed from the
/// same index, and it is read once).
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Arc<Inner>>>>);

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            credentials: CredentialSources::from_env(),
            retry: RetryPolicy::from_env(),
            connect_timeout: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(30),
            ca_certs: Vec::new(),
            connect_to: Vec::new(),
            sessions: Sessions::default(),
        }
    }
}

impl RegistryOptions {
    fn allows_plain_http(&self, reference: &Reference) -> bool {
        reference.is_loopback()
            || self.insecure.iter().any(|host| {
                host.eq_ignore_ascii_case(&reference.registry) || host.eq_ignore_ascii_case(reference.api_host())
            })
    }

    fn allows_plain_http_to(&self, authority: &str) -> bool {
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        matches!(host, "localhost" | "[::1]")
            || host.starts_with("127.")
            || self.insecure.iter().any(|h| h.eq_ignore_ascii_case(authority))
    }
}

/// A client for one repository. Cheap to clone; clones share the authentication state,
/// so a token fetched for the manifest serves every layer.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
    pub reference: Reference,
}

struct Inner {
    agent: ureq::Agent,
    /// `https://registry.example` or `http://127.0.0.1:5000`; its `host[:port]` is the
    /// only one that is sent the registry's `Authorization`.
    origin: String,
    options: RegistryOptions,
    credential: OnceLock<Result<Option<Credential>, String>>,
    auth: Mutex<Option<AuthHeader>>,
    /// Manifests and indexes read, by tag or digest.
    documents: Mutex<Documents>,
}

/// Manifests and indexes by the tag or digest they were asked for: (bytes, media type,
/// digest).
type Documents = HashMap<String, (Vec<u8>, String, Digest)>;

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("origin", &self.inner.origin)
            .finish()
    }
}

/// One request, before authentication, retries and redirects.
struct Request<'a> {
    url: String,
    accept: Option<&'a str>,
    /// Ask for the bytes from this offset on (`Range: bytes=N-`).
    range_from: Option<u64>,
    /// A form to POST instead of a GET (the OAuth2 token exchange).
    form: Option<String>,
    authorization: Option<AuthHeader>,
}

/// Why a request did not succeed.
enum Failure {
    /// 401 from the host the request was for, with its challenge.
    Unauthorized(Option<String>),
    Other(String),
}

impl RegistryClient {
    /// The client of `reference`'s repository: this run's, when it has one.
    pub fn new(reference: Reference, options: RegistryOptions) -> Result<RegistryClient, SourceError> {
        let scheme = if options.allows_plain_http(&reference) {
            "http"
        } else {
            "https"
        };
        let origin = format!("{scheme}://{}", reference.api_host().to_ascii_lowercase());
        let key = format!("{origin}/{}", reference.repository);
        let sessions = options.sessions.clone();
        let mut sessions = sessions.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(inner) = sessions.get(&key) {
            return Ok(RegistryClient {
                inner: Arc::clone(inner),
                reference,
            });
        }
        let agent = agent(&options)?;
        let inner = Arc::new(Inner {
            agent,
            origin,
            options,
            credential: OnceLock::new(),
            auth: Mutex::new(None),
            documents: Mutex::new(HashMap::new()),
        });
        sessions.insert(key, Arc::clone(&inner));
        Ok(RegistryClient { inner, reference })
    }

    /// Names a request in messages: `registry/repository/manifests/tag`.
    pub(crate) fn what(&self, path: &str) -> String {
        format!("{}/{}{path}", self.reference.registry, self.reference.repository)
    }

    /// A GET of `/v2/<repository><path>` that answered 200 or 206: authenticated when the
    /// registry asks, retried, redirects followed.
    pub(crate) fn send(
        &self,
        path: &str,
        accept: Option<&str>,
        range_from: Option<u64>,
    ) -> Result<Response<ureq::Body>, SourceError> {
        let what = self.what(path);
        let url = format!("{}/v2/{}{path}", self.inner.origin, self.reference.repository);
        // Each kind of challenge is answered once: a second 401 of a kind already answered
        // means the credentials were refused, so a registry alternating kinds stops too.
        let mut answered: Vec<Challenge> = Vec::new();
        loop {
            let request = Request {
                url: url.clone(),
                accept,
                range_from,
                form: None,
                authorization: self.current_auth(),
            };
            match self.exchange(request) {
                Ok(response) => return Ok(response),
                Err(Failure::Other(reason)) => return Err(SourceError::invalid(what, reason)),
                Err(Failure::Unauthorized(header)) => {
                    let header = header.ok_or_else(|| {
                        SourceError::invalid(&what, "HTTP 401 Unauthorized without a WWW-Authenticate challenge")
                    })?;
                    let challenge = Challenge::parse(&header)
                        .map_err(|e| SourceError::invalid(&what, format!("HTTP 401 Unauthorized with an {e}")))?;
                    if answered.iter().any(|a| auth::same_kind(a, &challenge)) {
                        return Err(self.refused(what));
                    }
                    let header = self.answer(&challenge, &what)?;
                    *self.lock_auth() = Some(header);
                    answered.push(challenge);
                }
            }
        }
    }

    /// A 401 after answering the registry's challenge: with stored credentials, they were
    /// refused; without, the registry does not allow anonymous pulls of the repository.
    fn refused(&self, what: String) -> SourceError {
        let registry = &self.reference.registry;
        let reason = match self.credential() {
            Ok(Some(_)) => format!(
                "HTTP 401 Unauthorized after authenticating: the credentials for {registry} were refused \
                 (log in again with `docker login {registry}`)"
            ),
            _ => format!(
                "HTTP 401 Unauthorized: anonymous pull of {} was refused: the repository is private or does not \
                 exist, and no credentials are stored for {registry} (log in with `docker login {registry}`, or \
                 put credentials in $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE)",
                self.reference.repository
            ),
        };
        SourceError::invalid(what, reason)
    }

    fn lock_auth(&self) -> std::sync::MutexGuard<'_, Option<AuthHeader>> {
        // A panic elsewhere cannot leave a half-written header: the value is replaced whole.
        self.inner.auth.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current_auth(&self) -> Option<AuthHeader> {
        self.lock_auth().clone()
    }

    /// The stored credential for this registry, looked up once.
    fn credential(&self) -> Result<Option<Credential>, SourceError> {
        self.inner
            .credential
            .get_or_init(|| {
                self.inner
                    .options
                    .credentials
                    .lookup(&self.reference.registry)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|reason| SourceError::invalid(self.reference.registry.clone(), reason))
    }

    /// The `Authorization` header that answers `challenge`.
    fn answer(&self, challenge: &Challenge, what: &str) -> Result<AuthHeader, SourceError> {
        let credential = self.credential()?;
        let login_hint = |reason: &str| {
            SourceError::invalid(
                what,
                format!(
                    "HTTP 401 Unauthorized: {reason} (log in with `docker login {}`, or put credentials in \
                     $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE)",
                    self.reference.registry
                ),
            )
        };
        match challenge {
            Challenge::Basic => auth::answer_basic(credential.as_ref()).map_err(login_hint),
            Challenge::Bearer { realm, service, scope } => {
                let scope = scope
                    .clone()
                    .unwrap_or_else(|| auth::pull_scope(&self.reference.repository));
                self.fetch_token(realm, service.as_deref(), &scope, credential.as_ref(), what)
            }
        }
    }

    /// The Bearer token flow: anonymous or Basic-authenticated GET, or the OAuth2
    /// refresh-token POST for an identity token.
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
        what: &str,
    ) -> Result<AuthHeader, SourceError> {
        let shown_realm = http::display_url(realm);
        let token_what = format!("{what}: token endpoint {shown_realm}");
        if http::has_userinfo(realm) {
            return Err(SourceError::invalid(
                token_what,
                "the registry's challenge names a token endpoint URL with a user name or password in it; \
                 refusing it",
            ));
        }
        let realm_authority = http::authority(realm).unwrap_or_default();
        if realm.starts_with("http://") && !self.inner.options.allows_plain_http_to(&realm_authority) {
            return Err(SourceError::invalid(
                what,
                format!(
                    "the registry's token endpoint {shown_realm} is plain HTTP; refusing to send credentials there \
                     (name it with --insecure {} if it is trusted)",
                    http::excerpt(&realm_authority, 100)
                ),
            ));
        }
        let request = match credential {
            Some(Credential::IdentityToken(token)) => Request {
                url: realm.to_owned(),
                accept: Some("application/json"),
                range_from: None,
                form: Some(auth::refresh_token_form(token, service, scope)),
                authorization: None,
            },
            Some(Credential::Basic { username, password }) => Request {
                url: auth::token_url(realm, service, scope),
                accept: Some("application/json"),
                range_from: None,
                form: None,
                authorization: Some(auth::basic(username, password)),
            },
            None => Request {
                url: auth::token_url(realm, service, scope),
                accept: Some("application/json"),
                range_from: None,
                form: None,
                authorization: None,
            },
        };
        match self.exchange(request) {
            Ok(response) => {
                auth::parse_token_response(response.into_body()).map_err(|r| SourceError::invalid(token_what, r))
            }
            Err(Failure::Unauthorized(_)) => Err(SourceError::invalid(
                token_what,
                match credential {
                    Some(_) => format!(
                        "HTTP 401 Unauthorized: the credentials for {} were refused (log in again with `docker login {}`)",
                        self.reference.registry, self.reference.registry
                    ),
                    None => format!(
                        "HTTP 401 Unauthorized: the registry needs credentials and none are stored for {} \
                         (log in with `docker login {}`)",
                        self.reference.registry, self.reference.registry
                    ),
                },
            )),
            Err(Failure::Other(reason)) => Err(SourceError::invalid(token_what, reason)),
        }
    }

    /// One request with retries and redirects. `Authorization` goes only to the host the
    /// request was first addressed to, never to where a redirect points elsewhere.
    fn exchange(&self, request: Request<'_>) -> Result<Response<ureq::Body>, Failure> {
        let policy = &self.inner.options.retry;
        let home = http::authority(&request.url);
        let mut retry = 0;
        // The longest `Retry-After` that was cut to the policy's cap, for the message.
        let mut capped: Option<Duration> = None;
        loop {
            let (reason, wait) = match self.follow_redirects(&request, home.as_deref())? {
                Ok(response) => return Ok(response),
                Err(retryable) => retryable,
            };
            if let Some(asked) = wait.filter(|w| *w > policy.max_delay) {
                capped = capped.max(Some(asked));
            }
            if retry + 1 >= policy.attempts.max(1) {
                let mut text = format!("{reason} (gave up after {} attempts", policy.attempts.max(1));
                if let Some(asked) = capped {
                    text.push_str(&format!(
                        "; the registry asked to wait {} s, more than the {} s imgprof waits at most ({})",
                        asked.as_secs(),
                        policy.max_delay.as_secs(),
                        http::MAX_WAIT_ENV
                    ));
                }
                text.push(')');
                return Err(Failure::Other(text));
            }
            std::thread::sleep(policy.delay(retry, wait));
            retry += 1;
        }
    }

    /// Follows redirects for one attempt. `Ok(Err(..))` is a failure worth retrying,
    /// with the server's `Retry-After`.
    #[allow(clippy::type_complexity)]
    fn follow_redirects(
        &self,
        request: &Request<'_>,
        home: Option<&str>,
    ) -> Result<Result<Response<ureq::Body>, (String, Option<Duration>)>, Failure> {
        let mut url = request.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let at_home = home.is_some() && http::authority(&url).as_deref() == home;
            let authorization = request.authorization.as_ref().filter(|_| at_home);
            let stall = self.inner.options.stall_timeout;
            let response = match self.call(&url, request, authorization) {
                Ok(response) => response,
                Err(e) if http::is_retryable_error(&e) => {
                    return Ok(Err((
                        format!("request failed: {}", http::describe_error(&e, stall)),
                        None,
                    )));
                }
                Err(e) => {
                    return Err(Failure::Other(format!(
                        "request failed: {}",
                        http::describe_error(&e, stall)
                    )));
                }
            };
            let status = response.status();
            if status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT {
                return Ok(Ok(response));
            }
            if status.is_redirection()
                && let Some(location) = http::header(&response, "location")
            {
                let status = status.as_u16();
                if http::has_userinfo(location) {
                    return Err(Failure::Other(format!(
                        "HTTP {status} redirect to a URL with a user name or password in it ({}); refusing it",
                        http::display_url(location)
                    )));
                }
                url = http::resolve_location(&url, location)
                    .filter(|next| http::authority(next).is_some())
                    .ok_or_else(|| {
                        Failure::Other(format!(
                            "HTTP {status} redirect to an unusable Location \"{}\"",
                            http::display_url(location)
                        ))
                    })?;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && at_home {
                return Err(Failure::Unauthorized(
                    http::header(&response, "www-authenticate").map(str::to_owned),
                ));
            }
            if http::is_retryable_status(status) {
                let wait = http::retry_after(&response);
                let limit = (status == StatusCode::TOO_MANY_REQUESTS)
                    .then(|| http::rate_limit(&response))
                    .flatten();
                let mut reason = http::failure_reason(response);
                if let Some(limit) = limit {
                    reason.push_str(&format!(
                        " (the registry's pull rate limit: {limit}; an account raises it: `docker login {}`)",
                        self.reference.registry
                    ));
                }
                return Ok(Err((reason, wait)));
            }
            return Err(Failure::Other(http::failure_reason(response)));
        }
        Err(Failure::Other(format!(
            "more than {MAX_REDIRECTS} redirects (a redirect loop)"
        )))
    }

    fn call(
        &self,
        url: &str,
        request: &Request<'_>,
        authorization: Option<&AuthHeader>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        macro_rules! headers {
            ($builder:expr) => {{
                let mut builder = $builder;
                if let Some(accept) = request.accept {
                    builder = builder.header("Accept", accept);
                }
                if let Some(from) = request.range_from {
                    builder = builder.header("Range", format!("bytes={from}-"));
                }
                if let Some(authorization) = authorization {
                    builder = builder.header("Authorization", &authorization.0);
                }
                builder
            }};
        }
        match &request.form {
            Some(form) => headers!(self.inner.agent.post(url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(form.as_str()),
            None => headers!(self.inner.agent.get(url)).call(),
        }
    }

    /// A manifest or index by tag or digest: its bytes, media type and digest, verified
    /// when asked for by digest.
    pub fn manifest(&self, reference: &str) -> Result<(Vec<u8>, String, Digest), SourceError> {
        let cached = self.lock_documents().get(reference).cloned();
        if let Some(document) = cached {
            return Ok(document);
        }
        let document = self.fetch_manifest(reference)?;
        self.lock_documents().insert(reference.to_owned(), document.clone());
        Ok(document)
    }

    fn lock_documents(&self) -> std::sync::MutexGuard<'_, Documents> {
        self.inner
            .documents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fetch_manifest(&self, reference: &str) -> Result<(Vec<u8>, String, Digest), SourceError> {
        let path = format!("/manifests/{reference}");
        let (bytes, content_type) = self.document(&path, Some(MANIFEST_ACCEPT))?;
        let digest = Digest::of(&bytes);
        if let Ok(expected) = reference.parse::<Digest>()
            && expected != digest
        {
            return Err(SourceError::DigestMismatch {
                what: self.what(&path),
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        let media_type = if content_type.is_empty() || content_type == "application/json" {
            sniff_media_type(&bytes)
        } else {
            content_type
        };
        Ok((bytes, media_type, digest))
    }

    /// A small blob (a config) whole, verified.
    pub fn small_blob(&self, digest: &Digest) -> Result<Vec<u8>, SourceError> {
        let path = format!("/blobs/{digest}");
        let (bytes, _) = self.document(&path, None)?;
        crate::local::verify_bytes(&bytes, digest, &self.what(&path))?;
        Ok(bytes)
    }

    /// A layer blob of `size` bytes as a stream that resumes (with a Range request) when
    /// the connection breaks or stalls; the layer walk verifies its digest as it reads.
    pub fn blob_stream(&self, digest: &Digest, size: u64) -> Result<Box<dyn Read + Send>, SourceError> {
        Ok(Box::new(BlobReader::open(self.clone(), digest.clone(), size)?))
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.options.retry
    }

    pub(crate) fn stall_timeout(&self) -> Duration {
        self.inner.options.stall_timeout
    }

    /// A document (manifest, config) whole, with its media type: asked for again when
    /// its body breaks off (a reset, a stall, fewer bytes than announced), per the
    /// retry policy.
    fn document(&self, path: &str, accept: Option<&str>) -> Result<(Vec<u8>, String), SourceError> {
        let what = self.what(path);
        let policy = &self.inner.options.retry;
        let mut retry = 0;
        loop {
            let response = self.send(path, accept, None)?;
            let content_type = http::header(&response, "content-type")
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
            let error = match read_limited(response.into_body()) {
                Ok(bytes) => return Ok((bytes, content_type)),
                Err(ReadError::TooLarge) => {
                    return Err(SourceError::invalid(what, format!("larger than {MAX_DOCUMENT} bytes")));
                }
                Err(ReadError::Io(error)) => error,
            };
            let reason = if http::is_timeout_io(&error) {
                http::describe_timeout(self.inner.options.stall_timeout)
            } else {
                http::excerpt(&error.to_string(), 300)
            };
            if !http::is_retryable_io(&error) || retry + 1 >= policy.attempts.max(1) {
                return Err(SourceError::invalid(
                    what,
                    format!(
                        "the response broke off: {reason} (gave up after {} attempts)",
                        retry + 1
                    ),
                ));
            }
            std::thread::sleep(policy.delay(retry, None));
            retry += 1;
        }
    }
}

fn agent(options: &RegistryOptions) -> Result<ureq::Agent, SourceError> {
    let roots = if options.ca_certs.is_empty() {
        ureq::tls::RootCerts::PlatformVerifier
    } else {
        ureq::tls::RootCerts::new_with_certs(&roots_with(&options.ca_certs)?)
    };
    let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(options.connect_timeout))
        .timeout_per_read(Some(options.stall_timeout))
        // A head trickled in a byte at a time passes every per-read limit: the whole
        // head gets the same time a single read does.
        .timeout_recv_response(Some(options.stall_timeout))
        .tls_config(tls)
        .user_agent(concat!("imgprof/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        OverridingResolver::new(options.connect_to.clone()),
    ))
}

/// The system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured) and every
/// certificate of `files`.
fn roots_with(files: &[PathBuf]) -> Result<Vec<ureq::tls::Certificate<'static>>, SourceError> {
    let mut roots: Vec<_> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    for file in files {
        let what = file.display().to_string();
        let pem =
            std::fs::read(file).map_err(|e| SourceError::invalid(&what, format!("cannot read the CA file: {e}")))?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => return Err(SourceError::invalid(&what, format!("not a PEM certificate file: {e}"))),
            }
        }
        if roots.len() == before {
            return Err(SourceError::invalid(
                what,
                "no certificate in it (--ca-cert takes a PEM file with BEGIN CERTIFICATE blocks)",
            ));
        }
    }
    Ok(roots)
}

enum ReadError {
    TooLarge,
    Io(std::io::Error),
}

fn read_limited(body: ureq::Body) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    body.into_reader()
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// Registries that omit Content-Type: an index has `manifests`, a manifest `layers`.
fn sniff_media_type(bytes: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let declared = value.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    if !declared.is_empty() {
        return declared.to_owned();
    }
    if value.get("manifests").is_some() {
        media_type::OCI_INDEX.to_owned()
    } else {
        media_type::OCI_MANIFEST.to_owned()
    }
}
