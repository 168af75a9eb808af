//! W3C trace context, carried through messages so HTTP → queue → worker is one trace.
//!
//! The sending invocation's context rides in a message's `traceparent` attribute (the CloudEvents
//! distributed-tracing extension); the consuming invocation continues it. Incoming platform
//! headers are honoured: `traceparent`, AWS X-Ray's `X-Amzn-Trace-Id`, Google's
//! `X-Cloud-Trace-Context`. A malformed or oversize header is ignored — a new trace starts — and is
//! never an error.

/// The message attribute (and CloudEvents extension) that carries the trace.
pub const TRACEPARENT: &str = "traceparent";

/// Headers longer than this are ignored.
const MAX_HEADER: usize = 512;

/// A position in a distributed trace.
///
/// ```
/// use cloudport_core::trace::TraceContext;
/// let parent = TraceContext::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let child = parent.child();
/// assert_eq!(child.trace_id(), parent.trace_id());
/// assert_ne!(child.span_id(), parent.span_id());
/// assert!(child.to_traceparent().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
/// assert!(TraceContext::parse_traceparent("00-zz-00f067aa0ba902b7-01").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

/// A random id part: `fastrand`'s per-thread generator, seeded from the OS's randomness.
fn random_u64() -> u64 {
    fastrand::u64(..)
}

/// Exactly `n` lowercase hex digits (no sign, unlike `from_str_radix`).
fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn nonzero(v: u64) -> u64 {
    if v == 0 { 1 } else { v }
}

impl TraceContext {
    /// A new trace (sampled).
    pub fn new_root() -> Self {
        let trace_id = fastrand::u128(..);
        Self {
            trace_id: if trace_id == 0 { 1 } else { trace_id },
            span_id: nonzero(random_u64()),
            sampled: true,
        }
    }

    /// A context from its parts; `None` when the trace or span id is zero (invalid in W3C).
    pub fn from_ids(trace_id: u128, span_id: u64, sampled: bool) -> Option<Self> {
        (trace_id != 0 && span_id != 0).then_some(Self {
            trace_id,
            span_id,
            sampled,
        })
    }

    /// The trace id as a number.
    pub fn trace_id_u128(&self) -> u128 {
        self.trace_id
    }

    /// The span id as a number.
    pub fn span_id_u64(&self) -> u64 {
        self.span_id
    }

    /// A new span in the same trace.
    pub fn child(&self) -> Self {
        Self {
            span_id: nonzero(random_u64()),
            ..*self
        }
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        format!("{:016x}", self.span_id)
    }

    /// The trace id, formatted only when displayed (for span fields that may never be recorded).
    pub fn trace_id_display(&self) -> impl std::fmt::Display + use<> {
        Hex32(self.trace_id)
    }

    /// The span id, formatted only when displayed.
    pub fn span_id_display(&self) -> impl std::fmt::Display + use<> {
        Hex16(self.span_id)
    }

    /// Whether the trace is sampled.
    pub fn sampled(&self) -> bool {
        self.sampled
    }

    /// The W3C `traceparent` value.
    pub fn to_traceparent(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }

    /// Parses a W3C `traceparent`; `None` when malformed, oversize or all-zero.
    pub fn parse_traceparent(value: &str) -> Option<Self> {
        if value.len() > MAX_HEADER {
            return None;
        }
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
        if !is_hex(version, 2)
            || version == "ff"
            || !is_hex(trace, 32)
            || !is_hex(span, 16)
            || !is_hex(flags, 2)
        {
            return None;
        }
        // Version 00 has exactly four fields; later versions may append more.
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok().filter(|t| *t != 0)?;
        let span_id = u64::from_str_radix(span, 16).ok().filter(|s| *s != 0)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// Parses AWS X-Ray's `X-Amzn-Trace-Id` (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`).
    pub fn parse_xray(value: &str) -> Option<Self> {
        if value.len() > MAX_HEADER {
            return None;
        }
        let mut root = None;
        let mut parent = None;
        let mut sampled = true;
        for field in value.split(';') {
            let Some(pair) = field.trim().split_once('=') else {
                continue;
            };
            match pair {
                ("Root", r) => {
                    let mut parts = r.split('-');
                    if parts.next()? != "1" {
                        return None;
                    }
                    let (epoch, unique) = (parts.next()?, parts.next()?);
                    if !is_hex(epoch, 8) || !is_hex(unique, 24) {
                        return None;
                    }
                    root = u128::from_str_radix(&format!("{epoch}{unique}"), 16).ok();
                }
                ("Parent", p) if is_hex(p, 16) => parent = u64::from_str_radix(p, 16).ok(),
                ("Sampled", s) => sampled = s != "0",
                _ => {}
            }
        }
        Some(Self {
            trace_id: root.filter(|t| *t != 0)?,
            span_id: nonzero(parent.unwrap_or_else(random_u64)),
            sampled,
        })
    }

    /// Parses Google's `X-Cloud-Trace-Context` (`TRACE_ID/SPAN_ID;o=1`, span id in decimal).
    pub fn parse_cloud_trace(value: &str) -> Option<Self> {
        if value.len() > MAX_HEADER {
            return None;
        }
        let (ids, options) = value.split_once(';').unwrap_or((value, ""));
        let (trace, span) = ids.split_once('/').unwrap_or((ids, ""));
        if !is_hex(&trace.to_ascii_lowercase(), 32) {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok().filter(|t| *t != 0)?;
        let span_id = span
            .parse::<u64>()
            .ok()
            .filter(|s| *s != 0)
            .unwrap_or_else(random_u64);
        Some(Self {
            trace_id,
            span_id: nonzero(span_id),
            sampled: options.trim() != "o=0",
        })
    }

    /// The trace an HTTP request carries: `traceparent`, then `X-Amzn-Trace-Id`, then
    /// `X-Cloud-Trace-Context`; `None` when none is present and valid.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        get(TRACEPARENT)
            .and_then(Self::parse_traceparent)
            .or_else(|| get("x-amzn-trace-id").and_then(Self::parse_xray))
            .or_else(|| get("x-cloud-trace-context").and_then(Self::parse_cloud_trace))
    }
}

struct Hex32(u128);

impl std::fmt::Display for Hex32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

struct Hex16(u64);

impl std::fmt::Display for Hex16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_headers_parse() {
        let x = TraceContext::parse_xray(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .unwrap();
        assert_eq!(x.trace_id(), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(x.span_id(), "53995c3f42cd8ad8");
        let g = TraceContext::parse_cloud_trace("105445aa7843bc8bf206b12000100000/1;o=1").unwrap();
        assert_eq!(g.trace_id(), "105445aa7843bc8bf206b12000100000");
        assert_eq!(g.span_id(), "0000000000000001");
    }

    #[test]
    fn malformed_and_oversize_headers_are_ignored() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            &format!("00-{}", "a".repeat(600)),
        ] {
            assert!(TraceContext::parse_traceparent(bad).is_none(), "{bad:?}");
        }
        assert!(TraceContext::parse_xray("Root=2-x-y").is_none());
        assert!(TraceContext::parse_xray("Root=1-+759e988-bd862e3fe1be46a994272793").is_none());
        assert!(
            TraceContext::parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;;Sampled=1;")
                .is_some(),
            "empty fields are skipped"
        );
        assert!(TraceContext::parse_cloud_trace("short/1").is_none());
    }

    #[test]
    fn roots_are_fresh() {
        assert_ne!(
            TraceContext::new_root().trace_id(),
            TraceContext::new_root().trace_id()
        );
    }
}
