//! Where a registry host is reached, when the user says: `--resolve HOST:PORT:ADDR` as
//! curl's `--resolve`, or `HOST:PORT:ADDR:PORT2` as curl's `--connect-to` (a mirror, a
//! tunnel, a test world on loopback). Only the connection goes elsewhere: TLS still
//! checks the certificate against HOST, and `Authorization` still follows HOST's rules.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// One override: connections to `host:port` go to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    host: String,
    port: u16,
    to: SocketAddr,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("--resolve {given:?}: {reason} (write HOST:PORT:ADDR, or HOST:PORT:ADDR:PORT to change the port too)")]
pub struct ConnectToError {
    given: String,
    reason: &'static str,
}

impl FromStr for ConnectTo {
    type Err = ConnectToError;

    fn from_str(given: &str) -> Result<ConnectTo, ConnectToError> {
        let fail = |reason| ConnectToError {
            given: given.to_owned(),
            reason,
        };
        let (host, rest) = given.split_once(':').ok_or_else(|| fail("no port"))?;
        let (port, rest) = rest.split_once(':').ok_or_else(|| fail("no address"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| fail("the port is not a number from 0 to 65535"))?;
        // An IPv6 address comes in brackets: `[::1]` or `[::1]:5000`.
        let (address, new_port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (address, tail) = v6.split_once(']').ok_or_else(|| fail("an unclosed '['"))?;
                (address, tail.strip_prefix(':'))
            }
            None => match rest.split_once(':') {
                Some((address, new_port)) => (address, Some(new_port)),
                None => (rest, None),
            },
        };
        let address: IpAddr = address.parse().map_err(|_| fail("the address is not an IP address"))?;
        let new_port = match new_port {
            Some(p) => p
                .parse()
                .map_err(|_| fail("the second port is not a number from 0 to 65535"))?,
            None => port,
        };
        if host.is_empty() {
            return Err(fail("no host"));
        }
        Ok(ConnectTo {
            host: host.to_ascii_lowercase(),
            port,
            to: SocketAddr::new(address, new_port),
        })
    }
}

impl fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} -> {}", self.host, self.port, self.to)
    }
}

/// ureq's resolver with the overrides in front.
#[derive(Debug)]
pub(crate) struct OverridingResolver {
    overrides: Vec<ConnectTo>,
    system: DefaultResolver,
}

impl OverridingResolver {
    pub(crate) fn new(overrides: Vec<ConnectTo>) -> OverridingResolver {
        OverridingResolver {
            overrides,
            system: DefaultResolver::default(),
        }
    }

    fn find(&self, uri: &Uri) -> Option<SocketAddr> {
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
        self.overrides
            .iter()
            .find(|o| o.port == port && o.host.eq_ignore_ascii_case(host))
            .map(|o| o.to)
    }
}

impl Resolver for OverridingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match self.find(uri) {
            Some(address) => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            None => self.system.resolve(uri, config, timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_forms_parse() {
        let resolve: ConnectTo = "registry-1.docker.io:443:127.0.0.1".parse().unwrap();
        assert_eq!(resolve.to, "127.0.0.1:443".parse().unwrap());
        let connect: ConnectTo = "Auth.Docker.io:443:127.0.0.2:8443".parse().unwrap();
        assert_eq!(
            (connect.host.as_str(), connect.to),
            ("auth.docker.io", "127.0.0.2:8443".parse().unwrap())
        );
        let v6: ConnectTo = "cdn.example:443:[::1]:9000".parse().unwrap();
        assert_eq!(v6.to, "[::1]:9000".parse().unwrap());
        for bad in [
            "host",
            "host:443",
            "host:x:127.0.0.1",
            "host:443:not-an-ip",
            ":443:127.0.0.1",
            "h:1:[::1",
        ] {
            let error = bad.parse::<ConnectTo>().unwrap_err().to_string();
            assert!(error.contains(bad) && error.contains("HOST:PORT:ADDR"), "{error}");
        }
    }

    #[test]
    fn overrides_match_host_and_port() {
        let resolver = OverridingResolver::new(vec!["registry-1.docker.io:443:127.0.0.1:7000".parse().unwrap()]);
        let at = |url: &str| resolver.find(&url.parse().unwrap());
        assert_eq!(
            at("https://registry-1.docker.io/v2/"),
            Some("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(
            at("https://REGISTRY-1.docker.io:443/v2/"),
            Some("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(at("http://registry-1.docker.io/v2/"), None);
        assert_eq!(at("https://auth.docker.io/token"), None);
    }
}
