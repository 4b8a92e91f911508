//! Who may call the service. Every request is checked before any handler runs:
//! - **Host** must name this server: an IP literal (DNS rebinding needs a name), `localhost`,
//!   the public URL's host, or a configured allowed host; otherwise 421. A page on
//!   `evil.example` rebound to 127.0.0.1 still sends `Host: evil.example`.
//! - **Origin**, when a browser sends one to the API, must be this server's own; the API answers
//!   no CORS, so a page on another origin can neither read it nor drive it (403).
//! - **Token**: the bearer token, compared in constant time (401).
//! - **State changes** (POST) must be `application/json` (415): a `text/plain` form post needs
//!   no CORS preflight, JSON does. Checked once a route matched, so a method a path does not
//!   have is a plain 405.
//!
//! `/vod` has its own rules (`vod.rs`): the token or a signed link, and CORS for players.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tally_api::ErrorCode;

use crate::http::HttpError;

/// The access rules of one server.
#[derive(Clone, Debug, Default)]
pub struct AccessPolicy {
    /// Bearer token for the API and `/vod`; `None` leaves the API open (loopback only).
    pub token: Option<String>,
    /// Host names (with or without a port) besides IP literals and `localhost`.
    pub allowed_hosts: Vec<String>,
}

impl AccessPolicy {
    /// Whether a `Host` header value names this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        if name.is_empty() {
            return false;
        }
        if name.parse::<std::net::IpAddr>().is_ok() || name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        self.allowed_hosts.iter().any(|allowed| {
            // `name:port` allows that port only; a bare name allows any port.
            let bare = host_name(allowed).len()
                == allowed.trim_start_matches('[').trim_end_matches(']').len();
            allowed.eq_ignore_ascii_case(host)
                || (bare && host_name(allowed).eq_ignore_ascii_case(name))
        })
    }

    /// Whether the request carries the token (always true when none is set).
    pub fn token_ok(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// The host part of a `Host` value: `a.b:80` → `a.b`, `[::1]:80` → `::1`.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The request's Host (HTTP/1.1 header, or the authority of an absolute URI).
pub fn request_host(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

/// 421 unless the Host names this server.
pub fn check_host(policy: &AccessPolicy, req: &Request) -> Result<(), HttpError> {
    match request_host(req) {
        Some(host) if policy.host_allowed(&host) => Ok(()),
        host => Err(HttpError::new(
            ErrorCode::HostNotAllowed,
            req.headers(),
            host.unwrap_or_default(),
        )),
    }
}

/// 403 when a browser on another origin sent the request.
fn check_origin(req: &Request) -> Result<(), HttpError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(()); // not a cross-origin browser request (or a same-origin GET)
    };
    let origin = origin.to_str().unwrap_or_default();
    let host = request_host(req).unwrap_or_default();
    let same = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(&host));
    if same {
        Ok(())
    } else {
        Err(HttpError::new(
            ErrorCode::ForeignOrigin,
            req.headers(),
            origin,
        ))
    }
}

/// 415 unless a state change carries JSON.
fn check_json(req: &Request) -> Result<(), HttpError> {
    if req.method() != Method::POST && req.method() != Method::PUT && req.method() != Method::PATCH
    {
        return Ok(());
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(HttpError::new(ErrorCode::NotJson, req.headers(), ""))
    }
}

/// The API's gate: Host, Origin and token, in that order.
pub async fn guard_api(State(policy): State<AccessPolicy>, req: Request, next: Next) -> Response {
    let checked = check_host(&policy, &req)
        .and_then(|_| check_origin(&req))
        .and_then(|_| {
            if policy.token_ok(req.headers()) {
                Ok(())
            } else {
                Err(HttpError::new(ErrorCode::Unauthorized, req.headers(), ""))
            }
        });
    match checked {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// A matched route's state change: JSON only.
pub async fn require_json(req: Request, next: Next) -> Response {
    match check_json(&req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Public routes (`/healthz`, the OpenAPI document): Host only.
pub async fn guard_host(State(policy): State<AccessPolicy>, req: Request, next: Next) -> Response {
    match check_host(&policy, &req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_ip_literals_localhost_or_configured() {
        let p = AccessPolicy {
            token: None,
            allowed_hosts: vec!["rec.example.com".into(), "cdn.example.com:8443".into()],
        };
        for ok in [
            "127.0.0.1:18080",
            "[::1]:18080",
            "10.0.0.5",
            "localhost:18080",
            "rec.example.com",
            "rec.example.com:8080",
            "cdn.example.com:8443",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:18080",
            "",
            "localhost.evil.example",
            "cdn.example.com:80",
            "127.0.0.1.nip.io",
        ] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn the_token_must_match_exactly() {
        let p = AccessPolicy {
            token: Some("s3cret".into()),
            allowed_hosts: Vec::new(),
        };
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(p.token_ok(&with("Bearer s3cret")));
        assert!(!p.token_ok(&with("Bearer s3cre")));
        assert!(!p.token_ok(&with("Bearer s3cret2")));
        assert!(!p.token_ok(&with("s3cret")));
        assert!(!p.token_ok(&HeaderMap::new()));
    }
}
