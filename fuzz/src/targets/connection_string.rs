//! Azure storage connection strings: `Azure::from_connection_string`, then opening a queue,
//! container or table (variant % 3) of the account the string names — connection strings are
//! parsed when a resource opens — and, for variants 3–5, building the SDK client (the signed URL:
//! an account SAS computed from the key, or the string's own SAS). No network call is made.
//! Building a client costs about a millisecond (the SDK makes a new HTTP client, which loads the
//! system's root certificates), a hundred times an open: so only half the seeds do.
//!
//! Parsing registers the string's `AccountKey` and `SharedAccessSignature` as secrets
//! (`cloudport_core::redact::register_secret`), in a process-wide list that only grows, and every
//! later redaction scans it. So that ten million distinct keys do not pile up there, a generated
//! case's key and SAS values are drawn from a fixed pool (chosen by a hash of what the mutations
//! made of them — [`Target::finish`], before the case runs or is saved); the structure around
//! them is mutated freely.

use cloudport_azure::{Azure, AzureContainer, AzureQueue};
use cloudport_core::{Provider, ResourceUrl};

use crate::{Case, Shape, Target};

pub(super) struct ConnectionString;

/// What `AccountKey=` and `SharedAccessSignature=` take.
const SECRET_POOL: &[&str] = &[
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "c2VjcmV0",
    "a2V5LWtleS1rZXk=",
    "not base64!!",
    "%%%",
    "",
    "=",
    "==",
    "AAAA",
    "a2V5\u{e9}",
    "sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=abc%2Bdef%3D",
    "?sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=abc",
    "sig=%%%",
    "sig=",
    "sv=2022-11-02&sig=a&sig=b",
    "se=not-a-date&sp=r&sig=x",
    "&&&&",
    "sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=%C3%A9%00",
    "a;b",
    "key with spaces",
];

fn pool_value(value: &str) -> &'static str {
    let h = value.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    SECRET_POOL[usize::try_from(h % SECRET_POOL.len() as u64).unwrap_or(0)]
}

/// The account name the string gives, when it makes a valid account name; else Azurite's.
fn account_of(text: &str) -> String {
    text.split(';')
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("AccountName"))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| {
            (3..=24).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .unwrap_or_else(|| "devstoreaccount1".to_owned())
}

impl Target for ConnectionString {
    fn name(&self) -> &'static str {
        "azure-connection-string"
    }

    fn shape(&self) -> Shape {
        Shape {
            header_weight: 0,
            request_line_weight: 0,
            variants: 6,
        }
    }

    fn seeds(&self) -> Vec<Case> {
        let strings = [
            "UseDevelopmentStorage=true",
            "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://docker-host",
            "UseDevelopmentStorage=false",
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
            "BlobEndpoint=https://acme.blob.core.windows.net/;QueueEndpoint=https://acme.queue.core.windows.net/;TableEndpoint=https://acme.table.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=abc%2Bdef%3D;AccountName=acme",
            "AccountName=acme;SharedAccessSignature=?sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=abc",
            "AccountName=acme",
            "AccountName=acme;AccountKey=not base64!!",
            "AccountName=acme;AccountKey=c2VjcmV0;EndpointSuffix=core.chinacloudapi.cn;DefaultEndpointsProtocol=https",
            "AccountName=acme;AccountKey=c2VjcmV0;QueueEndpoint=not a url",
            "AccountName=acme;AccountKey=c2VjcmV0;QueueEndpoint=data:text/plain,x",
            "AccountName=acme;AccountKey=c2VjcmV0;FileEndpoint=https://acme.file.core.windows.net",
            "AccountName=acme;AccountKey=c2VjcmV0;Unknown=1",
            "AccountName=;AccountKey=",
            "a;b;c",
            ";;;",
            "",
            "=",
        ];
        strings
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let variant = u8::try_from(i % 6).unwrap_or(0);
                Case::text(s).with_variant(variant)
            })
            .collect()
    }

    fn dictionary(&self) -> &'static [&'static str] {
        // The setting names first: they mirror `KNOWN` in `what_is_wrong`
        // (providers/azure/src/config.rs, private), plus the emulator proxy setting.
        &[
            "DefaultEndpointsProtocol",
            "AccountName",
            "AccountKey",
            "SharedAccessSignature",
            "EndpointSuffix",
            "BlobEndpoint",
            "QueueEndpoint",
            "TableEndpoint",
            "FileEndpoint",
            "UseDevelopmentStorage",
            "DevelopmentStorageProxyUri",
            "true",
            "false",
            "https",
            "http",
            "ftp",
            "acme",
            "devstoreaccount1",
            "core.windows.net",
            "http://127.0.0.1:10001/devstoreaccount1",
            "https://acme.queue.core.windows.net/",
            "http://[::1]:1/",
            "http://h:99999",
            ";",
            "=",
            "==",
        ]
    }

    fn finish(&self, case: &mut Case) {
        let text = String::from_utf8_lossy(&case.body).into_owned();
        let parts: Vec<String> = text
            .split(';')
            .map(|part| match part.split_once('=') {
                Some((k, v))
                    if ["accountkey", "sharedaccesssignature"]
                        .contains(&k.trim().to_ascii_lowercase().as_str()) =>
                {
                    format!("{k}={}", pool_value(v))
                }
                _ => part.to_owned(),
            })
            .collect();
        case.body = parts.join(";").into_bytes();
    }

    fn exec(&mut self, case: &Case) -> Result<String, String> {
        let text = String::from_utf8_lossy(&case.body).into_owned();
        let account = account_of(&text);
        let azure = Azure::from_connection_string(text);
        std::hint::black_box(format!("{azure:?}"));
        let client = case.variant % 6 >= 3;
        let (what, result) = match case.variant % 3 {
            0 => (
                "queue",
                ResourceUrl::parse(&format!("azqueue://{account}/orders")).and_then(|u| {
                    let queue = azure.open_queue(&u)?;
                    match queue.native::<AzureQueue>() {
                        Some(q) if client => q.client().map(drop),
                        _ => Ok(()),
                    }
                }),
            ),
            1 => (
                "container",
                ResourceUrl::parse(&format!("azblob://{account}/uploads")).and_then(|u| {
                    let bucket = azure.open_bucket(&u)?;
                    match bucket.native::<AzureContainer>() {
                        Some(c) if client => c.client().map(drop),
                        _ => Ok(()),
                    }
                }),
            ),
            _ => (
                "table",
                ResourceUrl::parse(&format!("aztable://{account}/state"))
                    .and_then(|u| azure.open_kv(&u).map(drop)),
            ),
        };
        let client = if client { " +client" } else { "" };
        Ok(match result {
            Ok(()) => format!("{what}{client} ok"),
            Err(e) => format!("{what}{client} err {}", e.kind()),
        })
    }
}
