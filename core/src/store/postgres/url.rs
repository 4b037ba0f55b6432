//! The connection string of a PostgreSQL log:
//! `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=...&host=/socket/dir]` (also
//! `postgresql://`). Parsed here, by us, so that the password never reaches a message: a
//! [`PgUrl`] prints (with `Display` and `Debug`) as its [`PgUrl::redacted`] form, and every
//! refusal of a malformed string names the string with its password replaced by `***`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Invalid, Result};

/// How long a connection attempt may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `sslmode` asks for, as libpq means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it (no certificate check), else plain text: libpq's default.
    Prefer,
    /// TLS or no connection; the certificate is not checked (as libpq's `require`).
    Require,
    /// TLS with the certificate checked against the system's roots and the host name.
    VerifyFull,
}

/// A parsed connection string. The password is kept only to connect.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PgUrl {
    pub user: String,
    password: Option<String>,
    /// A host name or address; `None` when `socket` is given.
    pub host: Option<String>,
    /// The directory of a unix socket (`?host=/dir` or a host that starts with `/`).
    pub socket: Option<String>,
    pub port: u16,
    pub dbname: String,
    pub tls: TlsMode,
}

/// Whether `db` (a `--db` value) names a PostgreSQL log rather than a file.
pub(crate) fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `s` with `%XX` escapes decoded; `None` when an escape is malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `url` with the password (between `user:` and the `@` of the authority) replaced by
/// `***`: safe to print whatever `url` is.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl PgUrl {
    /// Parses a `--db` value that [`is_url`]. A malformed one is refused as bad input
    /// naming the flag and the string (password redacted) and what is accepted.
    pub(crate) fn parse(url: &str) -> Result<PgUrl> {
        let refuse = |problem: String| -> Error {
            Invalid::new("--db", redact(url), format!("{problem}; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=disable|prefer|require|verify-full]")).into()
        };
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| refuse("not a postgres:// URL".into()))?;
        let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = main
            .split_once('/')
            .ok_or_else(|| refuse("no database name (the /DBNAME after the host)".into()))?;
        let dbname = percent_decode(path)
            .filter(|d| !d.is_empty() && !d.contains('/'))
            .ok_or_else(|| refuse("no database name (the /DBNAME after the host)".into()))?;
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or_else(|| refuse("no user name (USER@ before the host)".into()))?;
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        let user = percent_decode(user)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| refuse("no user name (USER@ before the host)".into()))?;
        let password = match password {
            Some(p) => {
                Some(percent_decode(p).ok_or_else(|| refuse("a malformed %-escape".into()))?)
            }
            None => None,
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| {
            refuse("the port after the host is not a number from 1 to 65535".into())
        })?;
        let host = percent_decode(host).ok_or_else(|| refuse("a malformed %-escape".into()))?;
        let mut parsed = PgUrl {
            user,
            password,
            host: None,
            socket: None,
            port,
            dbname,
            tls: TlsMode::Prefer,
        };
        if host.starts_with('/') {
            parsed.socket = Some(host);
        } else if !host.is_empty() {
            parsed.host = Some(host);
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value =
                percent_decode(value).ok_or_else(|| refuse("a malformed %-escape".into()))?;
            match key {
                "sslmode" => {
                    parsed.tls = match value.as_str() {
                        "disable" => TlsMode::Disable,
                        "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-full" => TlsMode::VerifyFull,
                        other => {
                            return Err(refuse(format!("sslmode `{other}` is not one of disable, prefer, require, verify-full")))
                        }
                    }
                }
                "host" if value.starts_with('/') => {
                    parsed.host = None;
                    parsed.socket = Some(value);
                }
                other => {
                    return Err(refuse(format!(
                        "the parameter `{other}` is not known (accepted: sslmode, host=/socket/directory)"
                    )))
                }
            }
        }
        if parsed.host.is_none() && parsed.socket.is_none() {
            return Err(refuse("no host".into()));
        }
        Ok(parsed)
    }

    /// The string with no password, as every message names the log:
    /// `postgres://USER@HOST:PORT/DBNAME`.
    pub(crate) fn redacted(&self) -> String {
        let host = match (&self.host, &self.socket) {
            (Some(h), _) if h.contains(':') => format!("[{h}]"),
            (Some(h), _) => h.clone(),
            (None, Some(dir)) => dir.replace('/', "%2F"),
            (None, None) => String::new(),
        };
        format!(
            "postgres://{}@{host}:{}/{}",
            self.user, self.port, self.dbname
        )
    }

    /// Where the server is, in words: `host H port P, database D`.
    pub(crate) fn server(&self) -> String {
        let host = self
            .host
            .clone()
            .or_else(|| self.socket.clone())
            .unwrap_or_default();
        format!("host {host} port {}, database {}", self.port, self.dbname)
    }

    /// Opens a connection.
    pub(crate) fn connect(&self) -> std::result::Result<postgres::Client, postgres::Error> {
        let mut config = postgres::Config::new();
        config
            .user(&self.user)
            .dbname(&self.dbname)
            .port(self.port)
            .application_name("chronicle")
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(p) = &self.password {
            config.password(p);
        }
        match (&self.host, &self.socket) {
            (_, Some(dir)) => config.host_path(dir),
            (Some(h), None) => config.host(h),
            (None, None) => &mut config,
        };
        match self.tls {
            TlsMode::Disable => config
                .ssl_mode(postgres::config::SslMode::Disable)
                .connect(postgres::NoTls),
            TlsMode::Prefer | TlsMode::Require => {
                let mode = if self.tls == TlsMode::Prefer {
                    postgres::config::SslMode::Prefer
                } else {
                    postgres::config::SslMode::Require
                };
                config.ssl_mode(mode).connect(tls::unverified())
            }
            TlsMode::VerifyFull => config
                .ssl_mode(postgres::config::SslMode::Require)
                .connect(tls::verified()),
        }
    }
}

/// `HOST[:PORT]` (HOST may be `[v6]`) split; the port defaults to 5432. `None`: a bad port.
fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => 5432,
        Some(p) => p.parse().ok().filter(|&p| p > 0)?,
    };
    Some((host, port))
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PgUrl {
    /// The redacted string: a `Debug` print (a panic message, a log line) never shows the
    /// password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.redacted())
    }
}

/// The TLS connectors (rustls with the ring provider).
mod tls {
    use super::Arc;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
    use tokio_postgres_rustls::MakeRustlsConnect;

    /// libpq's `sslmode=require`: the channel is encrypted, the certificate not checked
    /// (a server's signature over the handshake still is).
    #[derive(Debug)]
    struct Unverified(Arc<CryptoProvider>);

    impl ServerCertVerifier for Unverified {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(ring::default_provider())
    }

    /// The connector of `sslmode=prefer` and `require`.
    pub(super) fn unverified() -> MakeRustlsConnect {
        let provider = provider();
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports the default versions"))
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth();
        MakeRustlsConnect::new(config)
    }

    /// The connector of `sslmode=verify-full`: the system's root certificates.
    pub(super) fn verified() -> MakeRustlsConnect {
        let mut roots = rustls::RootCertStore::empty();
        // A certificate the system lists but rustls cannot parse is skipped.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports the default versions"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        MakeRustlsConnect::new(config)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_parsed_and_printed_without_its_password() {
        let u =
            PgUrl::parse("postgres://alice:s%40cret@db.example:6543/desk?sslmode=require").unwrap();
        assert_eq!(u.user, "alice");
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert_eq!(u.host.as_deref(), Some("db.example"));
        assert_eq!(u.port, 6543);
        assert_eq!(u.dbname, "desk");
        assert_eq!(u.tls, TlsMode::Require);
        for shown in [u.to_string(), format!("{u:?}"), u.redacted(), u.server()] {
            assert!(!shown.contains("cret"), "{shown}");
        }
        assert_eq!(u.to_string(), "postgres://alice@db.example:6543/desk");
    }

    #[test]
    fn defaults_and_sockets() {
        let u = PgUrl::parse("postgresql://bob@localhost/log").unwrap();
        assert_eq!((u.port, u.tls), (5432, TlsMode::Prefer));
        let s = PgUrl::parse("postgres://bob@%2Ftmp%2Fpg:5433/log").unwrap();
        assert_eq!(s.socket.as_deref(), Some("/tmp/pg"));
        let q = PgUrl::parse("postgres://bob@x/log?host=/run/pg").unwrap();
        assert_eq!((q.host, q.socket.as_deref()), (None, Some("/run/pg")));
        let v6 = PgUrl::parse("postgres://bob@[::1]:7/log").unwrap();
        assert_eq!((v6.host.as_deref(), v6.port), (Some("::1"), 7));
    }

    #[test]
    fn a_malformed_url_is_refused_without_its_password() {
        for bad in [
            "postgres://alice:hunter2@host:99999/db",
            "postgres://alice:hunter2@host/db?sslmode=maybe",
            "postgres://alice:hunter2@host/",
            "postgres://alice:hunter2@host/db?sslcert=x",
            "postgres://:hunter2@host/db",
        ] {
            let e = PgUrl::parse(bad).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(e.is_bad_input(), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("--db"), "{shown}");
        }
    }

    #[test]
    fn redact_hides_any_password() {
        assert_eq!(redact("postgres://a:b@c/d?x=y"), "postgres://a:***@c/d?x=y");
        assert_eq!(redact("postgres://a@c/d"), "postgres://a@c/d");
        assert_eq!(redact("postgres://a:b:c@h/d"), "postgres://a:***@h/d");
    }
}
