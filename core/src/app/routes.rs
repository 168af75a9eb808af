//! Routing CloudEvents by type to [`App::on_event`](super::App::on_event) handlers.

use super::dispatch::Handler;
use crate::{Error, ErrorKind, Result};

/// The longest type pattern accepted (CloudEvents types are short; this bounds a typo'd paste).
const MAX_PATTERN_LEN: usize = 512;

/// A type pattern: an exact type, or a prefix (the pattern without its trailing `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn parse(pattern: &str) -> Result<Self> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("event type pattern {pattern:?} {why}"),
            )
            .with_resource(pattern.chars().take(64).collect::<String>())
        };
        if pattern.is_empty() {
            return Err(invalid(
                "is empty: give an event type, a prefix ending in `*`, or use on_any_event",
            ));
        }
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(invalid(&format!("is longer than {MAX_PATTERN_LEN} bytes")));
        }
        if pattern.chars().any(char::is_control) {
            return Err(invalid("contains a control character"));
        }
        match pattern.strip_suffix('*') {
            Some(prefix) if prefix.contains('*') => Err(invalid(
                "has `*` before its end: only a trailing `*` (a prefix) is supported",
            )),
            Some(prefix) => Ok(Self::Prefix(prefix.to_owned())),
            None if pattern.contains('*') => Err(invalid(
                "has `*` before its end: only a trailing `*` (a prefix) is supported",
            )),
            None => Ok(Self::Exact(pattern.to_owned())),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Exact(t) => t.clone(),
            Self::Prefix(p) => format!("{p}*"),
        }
    }
}

/// The app's `on_event` handlers: exact types, then prefixes longest first.
#[derive(Default)]
pub(super) struct EventRoutes {
    exact: std::collections::BTreeMap<String, Handler<cloudevents::Event>>,
    /// Sorted by prefix length, longest first, so the first match is the most specific.
    prefixes: Vec<(String, Handler<cloudevents::Event>)>,
}

impl EventRoutes {
    /// Adds a handler; a pattern registered again replaces the earlier handler, as a named
    /// trigger does.
    pub(super) fn insert(
        &mut self,
        pattern: String,
        handler: Handler<cloudevents::Event>,
    ) -> Result<()> {
        match Pattern::parse(&pattern)? {
            Pattern::Exact(ty) => {
                self.exact.insert(ty, handler);
            }
            Pattern::Prefix(prefix) => {
                self.prefixes.retain(|(p, _)| *p != prefix);
                let at = self
                    .prefixes
                    .partition_point(|(p, _)| p.len() >= prefix.len());
                self.prefixes.insert(at, (prefix, handler));
            }
        }
        Ok(())
    }

    /// The handler of the most specific pattern matching `ty`, if any.
    pub(super) fn find(&self, ty: &str) -> Option<&Handler<cloudevents::Event>> {
        self.exact.get(ty).or_else(|| {
            self.prefixes
                .iter()
                .find(|(p, _)| ty.starts_with(p.as_str()))
                .map(|(_, h)| h)
        })
    }

    /// The registered patterns, exact ones first.
    pub(super) fn patterns(&self) -> impl Iterator<Item = String> + '_ {
        let exact = self.exact.keys().map(|t| Pattern::Exact(t.clone()).text());
        let prefixes = self
            .prefixes
            .iter()
            .map(|(p, _)| Pattern::Prefix(p.clone()).text());
        exact.chain(prefixes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn handler() -> Handler<cloudevents::Event> {
        Arc::new(|_, _| Box::pin(async { Ok(()) }))
    }

    #[test]
    fn the_most_specific_pattern_wins() {
        let mut routes = EventRoutes::default();
        let all = handler();
        let s3 = handler();
        let restore = handler();
        let exact = handler();
        routes.insert("com.*".into(), all.clone()).unwrap();
        routes
            .insert("com.amazonaws.s3.*".into(), s3.clone())
            .unwrap();
        routes
            .insert("com.amazonaws.s3.ObjectRestore*".into(), restore.clone())
            .unwrap();
        routes
            .insert(
                "com.amazonaws.s3.ObjectRestore:Completed".into(),
                exact.clone(),
            )
            .unwrap();
        let is = |ty: &str, h: &Handler<cloudevents::Event>| {
            routes.find(ty).is_some_and(|found| Arc::ptr_eq(found, h))
        };
        assert!(is("com.amazonaws.s3.ObjectRestore:Completed", &exact));
        assert!(is("com.amazonaws.s3.ObjectRestore:Post", &restore));
        assert!(is("com.amazonaws.s3.ObjectTagging:Put", &s3));
        assert!(is("com.example.Thing", &all));
        assert!(routes.find("org.example.Thing").is_none());
        assert_eq!(
            routes.patterns().collect::<Vec<_>>(),
            [
                "com.amazonaws.s3.ObjectRestore:Completed",
                "com.amazonaws.s3.ObjectRestore*",
                "com.amazonaws.s3.*",
                "com.*"
            ]
        );
    }

    #[test]
    fn a_lone_star_matches_every_type_and_a_repeat_replaces() {
        let mut routes = EventRoutes::default();
        let first = handler();
        let second = handler();
        routes.insert("*".into(), first).unwrap();
        routes.insert("*".into(), second.clone()).unwrap();
        assert!(
            routes
                .find("anything")
                .is_some_and(|h| Arc::ptr_eq(h, &second))
        );
        assert_eq!(routes.patterns().count(), 1);
    }

    #[test]
    fn bad_patterns_are_refused_with_the_reason() {
        for (pattern, why) in [
            ("", "is empty"),
            ("com.*.thing", "before its end"),
            ("a**", "before its end"),
            ("line\nbreak", "control character"),
        ] {
            let err = Pattern::parse(pattern).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
            assert!(err.message().contains(why), "{pattern:?}: {err}");
        }
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(Pattern::parse(&long).is_err());
    }
}
