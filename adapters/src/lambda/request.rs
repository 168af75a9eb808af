//! API Gateway HTTP API (payload format 2.0) and Function URL requests → the `http::Request` the
//! app's router serves.
//!
//! The host converts the request itself rather than through `lambda_http`, whose conversion
//! panics on input a client controls (a Host header or `X-Forwarded-Proto` it cannot parse as a
//! URL, a raw query string that is not a valid URI query, a body marked base64 that is not). Every
//! field of the event is checked, and one that does not make a valid HTTP request is an
//! [`ErrorKind::Malformed`] error the host answers `400` — never a panic:
//!
//! | field | accepted |
//! |---|---|
//! | `requestContext.http.method` | an HTTP method token |
//! | `headers` | valid header names; values strings (or arrays of strings) that are valid header values |
//! | `cookies` | joined with `; ` into a valid `Cookie` header value |
//! | `Host` header, else `requestContext.domainName` | `host[:port]`: a DNS name (letters, digits, `-`, `.`, `_`, `~`), an IPv4 address or a bracketed IPv6 address; a port of at most 65535 |
//! | `X-Forwarded-Proto` | `http` or `https` (absent: `https`) |
//! | `rawPath` | empty or starting with `/` (or `\`) |
//! | `rawQueryString` | characters a URI query may carry |
//! | `body` with `isBase64Encoded` | standard base64 |
//!
//! The URI is absolute (`https://host/path?query`) as `lambda_http` made it, and the path is
//! serialized as a URL parser does (as before): `\` separates segments, `.` and `..` segments
//! (also percent-encoded) are resolved, and characters a path cannot carry as they are (controls,
//! space, `"`, `#`, `<`, `>`, `?`, `` ` ``, `{`, `}`, non-ASCII) are percent-encoded. With a stage
//! other than `$default`, the path starts with `/<stage>` unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`
//! is set (as in `lambda_http`). The request carries `lambda_http`'s extensions (request
//! context, Lambda context, raw path, query, path parameters and stage variables), so routers
//! reading them with `lambda_http::RequestExt` keep working, and the invocation's X-Ray trace as
//! `X-Amzn-Trace-Id`.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use aws_lambda_events::query_map::QueryMap;
use base64::Engine;
use cloudport_core::{Error, ErrorKind, Result};
use http::header::{COOKIE, HOST, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;
use serde_json::Value;

/// An API Gateway HTTP API (v2) or Function URL request as Lambda delivers it: only what cloudport
/// reads, every field a client controls kept as text, so a request that is not valid HTTP is
/// answered `400` ([`HttpEvent::into_request`]) instead of failing the payload's decoding.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpEvent {
    #[serde(default, alias = "path")]
    raw_path: Option<String>,
    #[serde(default)]
    raw_query_string: Option<String>,
    #[serde(default)]
    cookies: Option<Vec<String>>,
    #[serde(default)]
    headers: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    path_parameters: Option<HashMap<String, String>>,
    #[serde(default)]
    stage_variables: Option<HashMap<String, String>>,
    request_context: Value,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

/// `Malformed`: the request cannot be taken as HTTP.
fn bad(what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Malformed,
        format!("the HTTP request is not valid: {what}"),
    )
}

/// Client text in an error message: escaped, and cut to 64 characters.
fn shown(text: &str) -> String {
    let mut cut: String = text.chars().take(64).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// The characters a URL path cannot carry as they are (the URL Standard's path percent-encode
/// set): controls, space, `"`, `#`, `<`, `>`, `?`, `` ` ``, `{`, `}`; non-ASCII is encoded too.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

impl HttpEvent {
    /// Checks that the payload has the shape of an HTTP API v2 / Function URL request (a request
    /// context with `http.method`); what a client controls is checked by
    /// [`HttpEvent::into_request`].
    pub(crate) fn check_shape(&self) -> std::result::Result<(), String> {
        match self.request_context.pointer("/http/method") {
            Some(Value::String(_)) => Ok(()),
            _ => Err("requestContext.http.method is missing".to_owned()),
        }
    }

    /// The request for the app's router, with the invocation's Lambda `context`; `ignore_stage`:
    /// the path does not start with the stage (`AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`). A field
    /// that does not make a valid HTTP request (see the module docs) is `Malformed`.
    pub fn into_request(
        self,
        context: lambda_runtime::Context,
        ignore_stage: bool,
    ) -> Result<http::Request<axum::body::Body>> {
        let method_text = self
            .request_context
            .pointer("/http/method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let method = http::Method::from_bytes(method_text.as_bytes()).map_err(|_| {
            bad(format!(
                "the method {} is not an HTTP method",
                shown(method_text)
            ))
        })?;
        let request_context = ApiGatewayV2httpRequestContext::deserialize(&self.request_context)
            .map_err(|e| bad(format!("the request context: {e}")))?;

        let mut headers = headers(self.headers.unwrap_or_default())?;
        if let Some(cookies) = self.cookies.filter(|c| !c.is_empty()) {
            let value = HeaderValue::from_str(&cookies.join("; "))
                .map_err(|_| bad("the cookies do not make a valid Cookie header"))?;
            headers.insert(COOKIE, value);
        }
        if let Some(value) = context
            .xray_trace_id
            .as_deref()
            .and_then(|id| HeaderValue::from_str(id).ok())
        {
            headers.insert(HeaderName::from_static("x-amzn-trace-id"), value);
        }

        let raw_path = self.raw_path.unwrap_or_default();
        let query = self.raw_query_string.unwrap_or_default();
        let uri = uri(
            &headers,
            request_context.domain_name.as_deref(),
            &with_stage(request_context.stage.as_deref(), &raw_path, ignore_stage),
            &query,
        )?;

        let body = match self.body {
            None => axum::body::Body::empty(),
            Some(encoded) if self.is_base64_encoded => axum::body::Body::from(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| bad(format!("the body is marked base64 but is not: {e}")))?,
            ),
            Some(text) => axum::body::Body::from(text),
        };

        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let parameters: QueryMap = query.parse().unwrap_or_default();
        Ok(request
            .with_raw_http_path(raw_path)
            .with_query_string_parameters(parameters)
            .with_path_parameters(QueryMap::from(self.path_parameters.unwrap_or_default()))
            .with_stage_variables(QueryMap::from(self.stage_variables.unwrap_or_default()))
            .with_request_context(RequestContext::ApiGatewayV2(request_context))
            .with_lambda_context(context))
    }
}

/// The event's headers: each a string, or an array of strings (several values).
fn headers(map: serde_json::Map<String, Value>) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(map.len());
    for (name, value) in map {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("the header name {} is not valid", shown(&name))))?;
        let invalid = || {
            bad(format!(
                "the value of header {header} is not a valid header value"
            ))
        };
        let mut append = |text: &str| -> Result<()> {
            let value = HeaderValue::from_str(text).map_err(|_| invalid())?;
            headers.append(&header, value);
            Ok(())
        };
        match &value {
            Value::String(text) => append(text)?,
            Value::Array(values) => {
                for value in values {
                    append(value.as_str().ok_or_else(invalid)?)?;
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(headers)
}

/// `lambda_http`'s rule: with a stage other than `$default`, the path starts with `/<stage>`.
fn with_stage(stage: Option<&str>, path: &str, ignore_stage: bool) -> String {
    match stage {
        Some(stage) if !ignore_stage && stage != "$default" => {
            if path.starts_with(&format!("/{stage}/")) {
                path.to_owned()
            } else {
                format!("/{stage}{path}")
            }
        }
        _ => path.to_owned(),
    }
}

/// The request URI: `scheme://host/path?query` (origin-form `/path?query` when the request names
/// no host at all).
fn uri(
    headers: &HeaderMap,
    domain_name: Option<&str>,
    path: &str,
    query: &str,
) -> Result<http::Uri> {
    let scheme = match headers.get("x-forwarded-proto").map(HeaderValue::to_str) {
        None => Scheme::HTTPS,
        Some(Ok(p)) if p.eq_ignore_ascii_case("https") => Scheme::HTTPS,
        Some(Ok(p)) if p.eq_ignore_ascii_case("http") => Scheme::HTTP,
        Some(_) => {
            return Err(bad(
                "the X-Forwarded-Proto header is neither http nor https",
            ));
        }
    };
    let authority = match headers.get(HOST) {
        Some(value) => {
            let host = value
                .to_str()
                .ok()
                .and_then(|host| authority(host, &scheme))
                .ok_or_else(|| bad("the Host header is not a valid host[:port]"))?;
            Some(host)
        }
        None => match domain_name {
            Some(name) => Some(authority(name, &scheme).ok_or_else(|| {
                bad("the request context's domainName is not a valid host[:port]")
            })?),
            None => None,
        },
    };
    let path = url_path(path)?;
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let target = PathAndQuery::try_from(target)
        .map_err(|e| bad(format!("the raw path and query string: {e}")))?;
    let mut parts = http::uri::Parts::default();
    if let Some(authority) = authority {
        parts.scheme = Some(scheme);
        parts.authority = Some(authority);
    }
    parts.path_and_query = Some(target);
    http::Uri::from_parts(parts).map_err(|e| bad(format!("the URI: {e}")))
}

/// `host[:port]` as RFC 9110's `Host` has it, without user info: a bracketed IPv6 address, or a
/// name of letters, digits, `-`, `.`, `_` and `~` (an IPv4 address is one); the port at most
/// 65535 (empty allowed). As a URL parser serializes it: the name in lower case, without an empty
/// port or the default port of `scheme`.
fn authority(text: &str, scheme: &Scheme) -> Option<Authority> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (address, after) = rest.split_once(']')?;
            address.parse::<std::net::Ipv6Addr>().ok()?;
            let port = if after.is_empty() {
                after
            } else {
                after.strip_prefix(':')?
            };
            (text.get(..address.len() + 2)?, port)
        }
        None => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            let name = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !name {
                return None;
            }
            (host, port)
        }
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let default = if *scheme == Scheme::HTTP { 80 } else { 443 };
    let normalized = match port {
        "" => host.to_ascii_lowercase(),
        _ => match port.parse::<u16>().ok()? {
            p if p == default => host.to_ascii_lowercase(),
            p => format!("{}:{p}", host.to_ascii_lowercase()),
        },
    };
    Authority::try_from(normalized).ok()
}

/// The path as a URL parser serializes it (see the module docs); `Malformed` when it does not
/// start with `/` or `\`.
fn url_path(raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Ok("/".to_owned());
    }
    let Some(rest) = raw.strip_prefix(['/', '\\']) else {
        return Err(bad(format!(
            "the raw path {} does not start with /",
            shown(raw)
        )));
    };
    let segments: Vec<&str> = rest.split(['/', '\\']).collect();
    let last = segments.len() - 1;
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.into_iter().enumerate() {
        if is_double_dot(segment) {
            out.pop();
            if i == last {
                out.push(String::new());
            }
        } else if is_single_dot(segment) {
            if i == last {
                out.push(String::new());
            }
        } else {
            out.push(utf8_percent_encode(segment, PATH).to_string());
        }
    }
    Ok(format!("/{}", out.join("/")))
}

fn is_single_dot(segment: &str) -> bool {
    segment == "." || segment.eq_ignore_ascii_case("%2e")
}

fn is_double_dot(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        ".." | ".%2e" | "%2e." | "%2e%2e"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_serialized_as_a_url_parser_does() {
        for (raw, path) in [
            ("", "/"),
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a//b/", "/a//b/"),
            ("/a/./b", "/a/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/../c", "/a/c"),
            ("/..", "/"),
            ("/../../etc", "/etc"),
            ("/a/%2E%2e/b", "/b"),
            ("/a/.", "/a/"),
            ("\\a\\b", "/a/b"),
            ("/a b/\"q\"", "/a%20b/%22q%22"),
            ("/é?#", "/%C3%A9%3F%23"),
            ("/a%20b", "/a%20b"),
        ] {
            assert_eq!(url_path(raw).unwrap(), path, "{raw:?}");
        }
        assert!(url_path("a").is_err());
        assert!(url_path(":80x/a").is_err());
    }

    #[test]
    fn hosts_are_host_and_port() {
        for (good, normalized) in [
            ("example.com", "example.com"),
            ("Example.COM:443", "example.com"),
            ("example.com:8443", "example.com:8443"),
            ("example.com:", "example.com"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("[::1]", "[::1]"),
            ("[::1]:80", "[::1]:80"),
            ("my_host.local", "my_host.local"),
        ] {
            let authority = authority(good, &Scheme::HTTPS);
            assert_eq!(
                authority.as_ref().map(Authority::as_str),
                Some(normalized),
                "{good:?}"
            );
        }
        assert_eq!(
            authority("example.com:80", &Scheme::HTTP).unwrap().as_str(),
            "example.com"
        );
        for bad in [
            "",
            "exa mple.com",
            "example.com:http",
            "example.com:+80",
            "example.com:65536",
            "example.com/evil",
            "user@example.com",
            "[::1",
            "[::1]x",
            "[nope]",
            "a:1:2",
            "bücher.de",
            "example.com?",
        ] {
            assert!(authority(bad, &Scheme::HTTPS).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn stages_prefix_the_path() {
        assert_eq!(with_stage(Some("$default"), "/a", false), "/a");
        assert_eq!(with_stage(Some("prod"), "/a", false), "/prod/a");
        assert_eq!(with_stage(Some("prod"), "/prod/a", false), "/prod/a");
        assert_eq!(with_stage(Some("prod"), "/a", true), "/a");
        assert_eq!(with_stage(None, "/a", false), "/a");
    }
}
