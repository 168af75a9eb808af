//! The core decoders of outside text: the queue wire envelope, trace headers, resource URLs, and
//! redaction (which must take any text).

use std::borrow::Cow;
use std::sync::LazyLock;

use cloudport_core::queue::wire::{envelope, from_envelope, to_envelope};
use cloudport_core::redact::{Redacted, is_clean, redact, register_secret};
use cloudport_core::trace::TraceContext;
use cloudport_core::{Env, KNOWN_SCHEMES, Message, ResourceKind, ResourceUrl};
use cloudport_memory::Memory;

use crate::{Case, Shape, Target};

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

// ---- queue wire ------------------------------------------------------------------------------

/// `from_envelope` on any bytes; a message it reads must come back the same through `envelope`
/// (the form a dead-letter move takes), which its documentation promises "byte for byte".
pub(super) struct Wire;

impl Target for Wire {
    fn name(&self) -> &'static str {
        "queue-wire"
    }

    fn shape(&self) -> Shape {
        Shape::TEXT
    }

    fn seeds(&self) -> Vec<Case> {
        let messages = [
            Message::new("hello"),
            Message::new("{\"id\":1}").with_content_type("application/json"),
            Message::new("{\"id\":1}")
                .with_content_type("application/json")
                .with_attribute("tenant", "acme"),
            Message::new("\"just a string\"").with_content_type("application/json"),
            Message::new("plain").with_content_type("text/plain"),
            Message::new(vec![0xffu8, 0x00, 0x10]).with_content_type("application/octet-stream"),
            Message::new("").with_attribute("note", "tab\there"),
            Message::new("x")
                .with_content_type("text/plain; charset=utf-8")
                .with_attribute(
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                )
                .with_attribute("deliverycount", "3"),
            Message::new("<a/>").with_content_type("application/xml"),
        ];
        let mut seeds: Vec<Case> = messages
            .iter()
            .map(|m| super::wire_form(m, false))
            .chain(messages.iter().map(|m| super::wire_form(m, true)))
            .map(Case::text)
            .collect();
        for raw in [
            &br#"{"type":"io.cloudport.queue.envelope.v1"}"#[..],
            b"{}",
            b"hi",
            br#"{"specversion":"1.0","id":"e-1","source":"elsewhere","type":"io.cloudport.queue.envelope.v1","datacontenttype":"text/plain","data":"poison","deliverycount":"1","tenant":"acme"}"#,
            br#"{"specversion":"1.0","id":"e-2","source":"x","type":"io.cloudport.queue.envelope.v1","datacontenttype":"application/json","data":{"a":[1,2]},"n":5,"b":true}"#,
            br#"{"specversion":"1.0","id":"e-3","source":"x","type":"io.cloudport.queue.envelope.v1","data_base64":"AAEC/w=="}"#,
            br#"{"specversion":"0.3","id":"e-4","source":"x","type":"io.cloudport.queue.envelope.v1","datacontentencoding":"base64","data":"aGk="}"#,
        ] {
            seeds.push(Case::text(raw.to_vec()));
        }
        seeds
    }

    fn dictionary(&self) -> &'static [&'static str] {
        WIRE_DICTIONARY
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        let message = from_envelope(&case.body);
        let unwrapped = message.body.as_ref() != case.body.as_slice()
            || message.content_type.is_some()
            || !message.attributes.is_empty();
        let _ = to_envelope(&message);
        let wire = match envelope(&message) {
            Ok(w) => w,
            Err(e) => return Ok(format!("unwrapped={unwrapped} envelope-err {}", e.kind())),
        };
        // Known (reported): an attribute named like a CloudEvents 1.0 attribute or data member
        // (a v0.3 envelope's `data_base64` extension, say) is written by `envelope()` as that
        // member, and the message does not read back. Counted, not failed, so that any other
        // way of breaking the round trip still stops the campaign.
        if message
            .attributes
            .keys()
            .any(|k| RESERVED.contains(&k.as_str()))
        {
            return Ok("known: attribute named like a CloudEvents attribute".to_owned());
        }
        let back = from_envelope(&wire);
        let content_type = |m: &Message| {
            m.content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned())
        };
        if back.body != message.body
            || back.attributes != message.attributes
            || content_type(&back) != content_type(&message)
        {
            return Err(format!(
                "envelope round trip: a message read from the wire does not read back the same through envelope(): body {:?} → {:?}, content type {:?} → {:?}, attributes {:?} → {:?}",
                text(&message.body),
                text(&back.body),
                message.content_type,
                back.content_type,
                message.attributes,
                back.attributes
            ));
        }
        Ok(format!(
            "unwrapped={unwrapped} attributes={}",
            message.attributes.len().min(2)
        ))
    }
}

/// CloudEvents 1.0 context attributes and data members. Mirrors `RESERVED_ATTRIBUTES` in
/// `core/src/validate.rs` (private; the library's public check is
/// [`cloudport_core::validate::attribute_name`], which refuses every name here — see the test
/// below), without the cloudport-only `deliverycount` extension.
const RESERVED: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "datacontenttype",
    "dataschema",
    "subject",
    "time",
    "data",
    "data_base64",
];

const WIRE_DICTIONARY: &[&str] = &[
    "specversion",
    "1.0",
    "0.3",
    "id",
    "source",
    "type",
    "io.cloudport.queue.envelope.v1",
    "datacontenttype",
    "application/json",
    "text/plain",
    "application/cloudevents+json",
    "text/json",
    "application/vnd.x+json",
    "data",
    "data_base64",
    "datacontentencoding",
    "base64",
    "dataschema",
    "subject",
    "time",
    "2026-11-26T03:00:00Z",
    "deliverycount",
    "traceparent",
    "tenant",
];

// ---- trace headers ----------------------------------------------------------------------------

/// The three platform trace headers' parsers, and `from_headers`; a parsed `traceparent` must
/// read back from its own `to_traceparent`.
pub(super) struct Trace;

impl Target for Trace {
    fn name(&self) -> &'static str {
        "trace-headers"
    }

    fn shape(&self) -> Shape {
        Shape::TEXT
    }

    fn seeds(&self) -> Vec<Case> {
        [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-holds",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:0",
            "Root=1-5759e988-bd862e3fe1be46a994272793;;Sampled=1;",
            "Root=2-x-y",
            "Root=1-+759e988-bd862e3fe1be46a994272793",
            "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad",
            "105445aa7843bc8bf206b12000100000/1;o=1",
            "105445aa7843bc8bf206b12000100000/18446744073709551615;o=0",
            "105445AA7843BC8BF206B12000100000/0",
            "105445aa7843bc8bf206b12000100000",
            "short/1",
            "",
        ]
        .into_iter()
        .map(Case::text)
        .collect()
    }

    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "00",
            "01",
            "ff",
            "-",
            "Root=",
            "Parent=",
            "Sampled=",
            ";",
            "1-",
            "/",
            ";o=1",
            ";o=0",
            "0000000000000000",
            "ffffffffffffffff",
            "18446744073709551616",
            "+",
            " ",
        ]
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        let value = text(&case.body);
        let parent = TraceContext::parse_traceparent(&value);
        if let Some(ctx) = parent {
            let again = TraceContext::parse_traceparent(&ctx.to_traceparent());
            if again != Some(ctx) {
                return Err(format!(
                    "traceparent round trip: {value:?} parsed as {ctx:?}, whose to_traceparent() reads back as {again:?}"
                ));
            }
            std::hint::black_box((ctx.trace_id(), ctx.span_id(), ctx.child()));
        }
        let xray = TraceContext::parse_xray(&value);
        let cloud = TraceContext::parse_cloud_trace(&value);
        let mut from_headers = 0;
        if let Ok(v) = http::HeaderValue::from_bytes(&case.body) {
            for name in ["traceparent", "x-amzn-trace-id", "x-cloud-trace-context"] {
                let mut headers = http::HeaderMap::new();
                headers.insert(name, v.clone());
                from_headers += usize::from(TraceContext::from_headers(&headers).is_some());
            }
        }
        Ok(format!(
            "traceparent={} xray={} cloud={} headers={from_headers}",
            parent.is_some(),
            xray.is_some(),
            cloud.is_some()
        ))
    }
}

// ---- resource URLs ----------------------------------------------------------------------------

/// `ResourceUrl::parse`, its accessors, and an `Env` opening the URL as a queue, bucket or KV
/// store (variant) with the memory and Azure providers (Azurite's account; no call is made).
pub(super) struct Url {
    memory: Memory,
    azure: cloudport_azure::Azure,
}

impl Url {
    pub(super) fn new() -> Self {
        Self {
            memory: Memory::new(),
            azure: cloudport_azure::Azure::from_connection_string("UseDevelopmentStorage=true"),
        }
    }
}

/// The URL target's tokens: every known scheme (from [`KNOWN_SCHEMES`], so a new provider's
/// scheme is fuzzed without editing this list), then parameters and URL syntax.
static URL_DICTIONARY: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let schemes = KNOWN_SCHEMES
        .iter()
        .map(|(scheme, ..)| &*format!("{scheme}://").leak());
    schemes
        .chain([
            "dead_letter",
            "max_deliveries",
            "connection",
            "max_dequeue_count",
            "poison",
            "partition",
            "subscription",
            "region",
            "endpoint",
            "?",
            "&",
            "=",
            "%",
            "%2F",
            "%00",
            "devstoreaccount1",
            "projects/",
            "/topics/",
            "0",
            "4294967296",
            "-1",
            "true",
            "false",
            "@",
            ":",
            "[",
            "]",
            "#",
        ])
        .collect()
});

impl Target for Url {
    fn name(&self) -> &'static str {
        "resource-url"
    }

    fn shape(&self) -> Shape {
        Shape {
            header_weight: 0,
            request_line_weight: 0,
            variants: 3,
        }
    }

    fn seeds(&self) -> Vec<Case> {
        let urls = [
            ("mem://orders", 0),
            (
                "mem://orders?dead_letter=mem://orders-dlq&max_deliveries=3",
                0,
            ),
            ("mem://orders?dead_letter=dlq&max_deliveries=2", 0),
            (
                "mem://orders?dead_letter=mem%3A%2F%2Fa%3Fdead_letter%3Dmem%3A%2F%2Fb",
                0,
            ),
            ("mem://orders?max_deliveries=3", 0),
            ("mem://uploads", 1),
            ("mem://state", 2),
            ("sqs://orders?region=eu-west-1", 0),
            ("sqs://orders-native.fifo?dead_letter=sqs://dlq.fifo", 0),
            (
                "s3://uploads?region=us-east-1&endpoint=http://localhost:4566",
                1,
            ),
            ("dynamodb://state?partition=p1", 2),
            ("azqueue://devstoreaccount1/orders", 0),
            (
                "azqueue://devstoreaccount1/orders?max_dequeue_count=5&poison=false",
                0,
            ),
            (
                "azqueue://devstoreaccount1/orders?connection=OrdersStorage",
                0,
            ),
            ("azblob://devstoreaccount1/uploads", 1),
            ("aztable://devstoreaccount1/state?partition=tenant1", 2),
            (
                "gcppubsub://projects/shop/topics/orders?subscription=orders-push",
                0,
            ),
            (
                "gcppubsub://projects/_/topics/t?subscription=projects/q/subscriptions/s",
                0,
            ),
            ("gs://shop-uploads", 1),
            ("firestore://shop/state", 2),
            ("mem://a%20b", 0),
            ("mem://x?a=1&a=2", 0),
            ("not a url", 0),
            ("mem:/orders", 0),
            ("MEM://Orders", 0),
            ("mem://[::1]:80/x", 0),
            ("mem://user:pa55@orders", 0),
        ];
        urls.into_iter()
            .map(|(u, v)| Case::text(u).with_variant(v))
            .collect()
    }

    fn dictionary(&self) -> &'static [&'static str] {
        &URL_DICTIONARY
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        let url = text(&case.body);
        let parsed = match ResourceUrl::parse(&url) {
            Ok(p) => p,
            Err(e) => return Ok(format!("parse-err {}", e.kind())),
        };
        std::hint::black_box((
            parsed.scheme(),
            parsed.host(),
            parsed.path(),
            parsed.params().len(),
            parsed.as_str(),
            parsed.to_string(),
            parsed.reject_unknown_params(&["connection"]).is_ok(),
        ));
        let env = Env::builder()
            .provider(self.memory.clone())
            .provider(self.azure.clone())
            .vars([
                ("CLOUDPORT_QUEUE_TARGET", url.as_ref()),
                ("CLOUDPORT_BUCKET_TARGET", url.as_ref()),
                ("CLOUDPORT_KV_TARGET", url.as_ref()),
                ("CLOUDPORT_QUEUE_DLQ", "mem://dlq"),
            ])
            .build();
        let (kind, opened) = match case.variant % 3 {
            0 => (ResourceKind::Queue, env.queue("target").map(drop)),
            1 => (ResourceKind::Bucket, env.bucket("target").map(drop)),
            _ => (ResourceKind::Kv, env.kv("target").map(drop)),
        };
        Ok(match opened {
            Ok(()) => format!("{} {} open", parsed.scheme().len().min(12), kind.as_str()),
            Err(e) => format!("{} open-err {}", kind.as_str(), e.kind()),
        })
    }

    fn reset(&mut self) {
        // The memory world keeps every queue, bucket and store it opened.
        self.memory = Memory::new();
    }
}

// ---- redaction --------------------------------------------------------------------------------

/// A secret registered with `register_secret`, planted in the seeds: it must never come out.
const CANARY: &str = "fuzz-canary-Secret/0123+456789==";

/// `redact` on any text: it must not panic, and a registered secret never survives it.
pub(super) struct Redact;

impl Redact {
    pub(super) fn new() -> Self {
        register_secret(CANARY);
        Self
    }
}

impl Target for Redact {
    fn name(&self) -> &'static str {
        "redact"
    }

    fn shape(&self) -> Shape {
        Shape::TEXT
    }

    fn seeds(&self) -> Vec<Case> {
        [
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5a2V5;EndpointSuffix=core.windows.net",
            "GET https://acme.queue.core.windows.net/orders?sv=2022-11-02&sig=abc%2Bdef failed",
            "Authorization: Bearer eyJhbGciOi.x.y",
            "authorization=SharedKey acct:c2lnbmF0dXJl",
            "postgres://app:hunter22@db/x",
            "https://ghp_0123456789abcdefghij0123456789abcd@github.com/x.git",
            "nothing to hide",
            "X-Amz-Security-Token=FQoGZXIvYXdzE&X-Amz-Signature=abc",
            r#"{"client_secret": "s3cr3t", "password":"p", "nested": {"api_key": "k"}}"#,
            r#"Config { session_token: Some("tok"), secret_access_key: "sak" }"#,
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            "https://fn.azurewebsites.net/api/x?code=abc123&key=def",
            "PWD=hunter2 pwd: x",
            "fuzz-canary-Secret/0123+456789== leaked",
            "url fuzz-canary-Secret%2F0123%2B456789%3D%3D here",
            "token=fuzz-canary-Secret/0123+456789==;",
            "AccountKey=fuzz-canary-Secret/0123+456789==",
            "caf\u{e9} \u{1F600} \u{0} \u{202e} secret=\u{e9}\u{e9}",
        ]
        .into_iter()
        .map(Case::text)
        .collect()
    }

    fn dictionary(&self) -> &'static [&'static str] {
        &[
            "password",
            "secret",
            "token",
            "signature",
            "sig",
            "AccountKey",
            "SharedAccessKey",
            "SharedAccessSignature",
            "SecretAccessKey",
            "apikey",
            "api_key",
            "api-key",
            "privatekey",
            "Authorization",
            "credentials",
            "functionskey",
            "pwd",
            "key",
            "code",
            "Bearer ",
            "Basic ",
            "SharedKey ",
            "SharedKeyLite ",
            "://",
            "@",
            ":",
            "=",
            ";",
            "&",
            "?",
            "\"",
            "'",
            ": ",
            "Some(\"",
            "\")",
            "-----BEGIN PRIVATE KEY-----",
            "-----END PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----",
            CANARY,
            "%2F",
            "%2B",
            "%3D",
            "[REDACTED]",
        ]
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        let input = text(&case.body);
        let out = redact(&input);
        if out.contains(CANARY) {
            return Err(format!(
                "a registered secret survived redaction: {input:?} → {out:?}"
            ));
        }
        let clean = is_clean(&input);
        std::hint::black_box((
            Redacted(input.as_ref()).to_string(),
            format!("{:?}", Redacted(input.as_ref())),
        ));
        Ok(format!(
            "changed={} clean={clean}",
            matches!(out, Cow::Owned(_))
        ))
    }
}

#[cfg(test)]
mod tests {
    /// The reserved names mirrored here are ones the library's attribute rule refuses.
    #[test]
    fn reserved_names_are_refused_by_the_library() {
        for name in super::RESERVED {
            assert!(
                cloudport_core::validate::attribute_name(name).is_err(),
                "{name} is not refused by cloudport_core::validate::attribute_name"
            );
        }
    }
}
