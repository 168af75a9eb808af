//! HTTP-trigger invocations without forwarding: `Data.req` as a request, the response as `res`.

use std::collections::BTreeMap;

use base64::Engine;
use cloudport_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::Value;

use super::{Invocation, malformed, unwrap_encoded};

/// The HTTP trigger's request as the host sends it when it does not forward HTTP
/// (`Data.req`).
#[derive(Debug, Deserialize)]
struct HttpTriggerRequest {
    #[serde(rename = "Url")]
    url: String,
    #[serde(rename = "Method")]
    method: String,
    #[serde(rename = "Headers", default)]
    headers: Option<BTreeMap<String, Value>>,
    #[serde(rename = "Body", default)]
    body: Option<Value>,
}

/// `Data.req` of a non-forwarded HTTP invocation as an HTTP request for the app's router: the
/// path of `Url` without the route prefix (`api` → `/api/orders` becomes `/orders`), its query,
/// the method, the headers (array values become repeated headers) and the body (base64-decoded
/// for `application/octet-stream` and `multipart/*`, which the host sends as bytes).
///
/// ```
/// use cloudport_adapters::azure::decode::{Invocation, http_request};
/// let inv = Invocation::parse(br#"{"Data":{"req":{"Url":"https://app.azurewebsites.net/api/orders?x=1",
///     "Method":"POST","Query":"{\"x\":\"1\"}","Headers":{"Content-Type":["application/json"]},
///     "Params":{"route":"orders"},"Body":"{\"id\":1}"}},"Metadata":{}}"#).unwrap();
/// let req = http_request(&inv, "req", "api").unwrap();
/// assert_eq!(req.uri(), "/orders?x=1");
/// assert_eq!(req.method(), "POST");
/// assert_eq!(req.headers()["content-type"], "application/json");
/// ```
pub fn http_request(
    inv: &Invocation,
    binding: &str,
    route_prefix: &str,
) -> Result<axum::http::Request<axum::body::Body>> {
    let req: HttpTriggerRequest = serde_json::from_str(inv.data(binding)?.get()).map_err(|e| {
        malformed(format!(
            "the HTTP trigger's request (Data.{binding}) is not as documented: {e}"
        ))
    })?;
    let after_scheme = req
        .url
        .split_once("://")
        .map_or(req.url.as_str(), |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let path_and_query = strip_route_prefix(path_and_query, route_prefix).ok_or_else(|| {
        malformed(format!(
            "the HTTP request {:?} is outside the route prefix {route_prefix:?}",
            req.url
        ))
    })?;
    let method = axum::http::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| malformed(format!("bad HTTP method {:?}: {e}", req.method)))?;
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(path_and_query.as_str());
    let mut content_type = String::new();
    for (name, value) in req.headers.unwrap_or_default() {
        let values = match unwrap_encoded(&value) {
            Value::Array(vs) => vs,
            v => vec![v],
        };
        for v in values {
            let text = match v {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            if name.eq_ignore_ascii_case("content-type") {
                content_type = text.to_ascii_lowercase();
            }
            builder = builder.header(name.as_str(), text);
        }
    }
    let body = match req.body {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s))
            if content_type.starts_with("application/octet-stream")
                || content_type.starts_with("multipart/") =>
        {
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| malformed(format!("the binary HTTP body is not valid base64: {e}")))?
        }
        Some(Value::String(s)) => s.into_bytes(),
        // The host may hand a JSON body over parsed.
        Some(other) => serde_json::to_vec(&other)?,
    };
    builder
        .body(axum::body::Body::from(body))
        .map_err(|e| malformed(format!("the HTTP request cannot be rebuilt: {e}")))
}

/// `path_and_query` without the route prefix (`/api/orders?x` → `/orders?x` for prefix `api`);
/// `None` when it lies outside the prefix. An empty prefix keeps the path.
///
/// ```
/// use cloudport_adapters::azure::decode::strip_route_prefix;
/// assert_eq!(strip_route_prefix("/api/orders?x=1", "api").as_deref(), Some("/orders?x=1"));
/// assert_eq!(strip_route_prefix("/api", "api").as_deref(), Some("/"));
/// assert_eq!(strip_route_prefix("/apix", "api"), None);
/// assert_eq!(strip_route_prefix("/orders", "").as_deref(), Some("/orders"));
/// ```
pub fn strip_route_prefix(path_and_query: &str, route_prefix: &str) -> Option<String> {
    let prefix = route_prefix.trim_matches('/');
    if prefix.is_empty() {
        return Some(path_and_query.to_owned());
    }
    let rest = path_and_query.strip_prefix('/')?.strip_prefix(prefix)?;
    match rest.chars().next() {
        None => Some("/".to_owned()),
        Some('/') => Some(rest.to_owned()),
        Some('?') => Some(format!("/{rest}")),
        Some(_) => None,
    }
}

/// An HTTP response as the `http` output binding the host expects in `Outputs`: `statusCode`,
/// `status`, `headers` (multi-valued headers joined with `, `) and `body` (text; a body that is
/// not UTF-8 is sent base64-encoded with a warning — binary responses need HTTP forwarding).
pub async fn http_output(response: axum::response::Response) -> Result<Value> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| Error::new(ErrorKind::Other, format!("reading the HTTP response: {e}")))?;
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let joined = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(text) => text,
        Err(_) => {
            tracing::warn!(
                "a binary HTTP response body goes base64-encoded through the http output binding; enable HTTP forwarding to send it as is"
            );
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        }
    };
    let status = parts.status.as_u16();
    Ok(serde_json::json!({
        "statusCode": status,
        "status": status,
        "headers": headers,
        "body": body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn http_requests_are_rebuilt_and_responses_become_the_output_binding() {
        // The documented sample of the custom handlers article ("Function with bindings").
        let payload = r#"{
          "Data": { "req": { "Url": "http://localhost:7071/api/order", "Method": "POST", "Query": "{}",
              "Headers": { "Content-Type": [ "application/json" ], "X-Many": ["a", "b"] },
              "Params": {}, "Body": "{\"id\":1005,\"quantity\":2,\"color\":\"black\"}" } },
          "Metadata": {}
        }"#;
        let inv = Invocation::parse(payload.as_bytes()).unwrap();
        let req = http_request(&inv, "req", "api").unwrap();
        assert_eq!(req.uri(), "/order");
        assert_eq!(req.headers().get_all("x-many").iter().count(), 2);
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"id":1005,"quantity":2,"color":"black"}"#);

        // Binary bodies arrive base64-encoded.
        let binary = r#"{"Data":{"req":{"Url":"http://h/api/up","Method":"PUT",
            "Headers":{"Content-Type":["application/octet-stream"]},"Body":"AAEC"}},"Metadata":{}}"#;
        let inv = Invocation::parse(binary.as_bytes()).unwrap();
        let body = axum::body::to_bytes(
            http_request(&inv, "req", "api").unwrap().into_body(),
            usize::MAX,
        )
        .await
        .unwrap();
        assert_eq!(&body[..], &[0, 1, 2]);
        let bad = binary.replace("AAEC", "@@@");
        let inv = Invocation::parse(bad.as_bytes()).unwrap();
        assert_eq!(
            http_request(&inv, "req", "api").unwrap_err().kind(),
            ErrorKind::Malformed
        );

        let response = axum::response::Response::builder()
            .status(201)
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("made"))
            .unwrap();
        let out = http_output(response).await.unwrap();
        assert_eq!(out["statusCode"], 201);
        assert_eq!(out["body"], "made");
        assert_eq!(out["headers"]["content-type"], "text/plain");
    }
}
