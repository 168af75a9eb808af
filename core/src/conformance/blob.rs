//! Blob checks.

use bytes::Bytes;
use futures::StreamExt;

use super::{Fixture, assert_kind, skipped_for_gap};
use crate::{Body, ByteRange, ErrorKind, GetOptions, ListOptions, PutOptions, WriteCondition};

/// Put with content type and metadata; get and head return them with the same ETag.
pub async fn blob_put_get_head(f: &dyn Fixture) {
    let b = f.bucket().await;
    let put = b
        .put_with(
            "docs/readme.txt",
            "hello, blob",
            PutOptions::default()
                .content_type("text/plain")
                .metadata("owner", "billing"),
        )
        .await
        .expect("put");
    assert_eq!(put.size, 11);
    let got = b.get("docs/readme.txt").await.expect("get");
    assert_eq!(got.meta.etag, put.etag, "get's ETag differs from put's");
    assert_eq!(got.range, 0..11);
    assert_eq!(got.bytes().await.expect("body"), "hello, blob");
    let head = b.head("docs/readme.txt").await.expect("head");
    assert_eq!(head.size, 11);
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    if b.capabilities().metadata {
        assert_eq!(
            head.metadata.get("owner").map(String::as_str),
            Some("billing")
        );
    }
    assert_kind(
        b.get("docs/missing").await,
        ErrorKind::NotFound,
        "get of a missing object",
    );
    assert_kind(
        b.head("docs/missing").await,
        ErrorKind::NotFound,
        "head of a missing object",
    );
}

/// `IfNotExists` creates once; the second write fails `AlreadyExists` and changes nothing.
pub async fn blob_create_only(f: &dyn Fixture) {
    let b = f.bucket().await;
    let create = PutOptions::default().condition(WriteCondition::IfNotExists);
    if !b.capabilities().create_only {
        assert_kind(
            b.put_with("k", "v", create).await,
            ErrorKind::Unsupported,
            "create-only",
        );
        return;
    }
    b.put_with("lock", "first", create.clone())
        .await
        .expect("first create");
    assert_kind(
        b.put_with("lock", "second", create).await,
        ErrorKind::AlreadyExists,
        "second create-only write",
    );
    assert_eq!(b.get_bytes("lock").await.expect("get"), "first");
}

/// `IfMatch` replaces only the version it names.
pub async fn blob_if_match(f: &dyn Fixture) {
    let b = f.bucket().await;
    let v1 = b.put("doc", "v1").await.expect("put v1");
    let if_match = |etag| PutOptions::default().condition(WriteCondition::IfMatch(etag));
    if !b.capabilities().if_match {
        assert_kind(
            b.put_with("doc", "x", if_match(v1.etag)).await,
            ErrorKind::Unsupported,
            "if-match",
        );
        return;
    }
    let v2 = b
        .put_with("doc", "v2", if_match(v1.etag.clone()))
        .await
        .expect("put v2");
    assert_ne!(v1.etag, v2.etag, "a write must change the ETag");
    assert_kind(
        b.put_with("doc", "v3", if_match(v1.etag)).await,
        ErrorKind::PreconditionFailed,
        "write with a stale ETag",
    );
    assert_eq!(b.get_bytes("doc").await.expect("get"), "v2");
    assert_kind(
        b.put_with("absent", "x", if_match(v2.etag)).await,
        ErrorKind::PreconditionFailed,
        "If-Match write of a missing object",
    );
}

/// Bounded, open-ended and suffix ranges; an unsatisfiable range is `InvalidArgument`.
pub async fn blob_ranges(f: &dyn Fixture) {
    let b = f.bucket().await;
    b.put("digits", "0123456789").await.expect("put");
    let read = |r: ByteRange| {
        let b = b.clone();
        async move {
            let got = b
                .get_with("digits", GetOptions::default().range(r))
                .await
                .expect("ranged get");
            let range = got.range.clone();
            (range, got.bytes().await.expect("body"))
        }
    };
    assert_eq!(read((2..5).into()).await, (2..5, Bytes::from("234")));
    assert_eq!(read(ByteRange::From(7)).await, (7..10, Bytes::from("789")));
    assert_eq!(
        read(ByteRange::Suffix(3)).await,
        (7..10, Bytes::from("789"))
    );
    assert_eq!(
        read((8..100).into()).await,
        (8..10, Bytes::from("89")),
        "a range past the end is clipped"
    );
    assert_kind(
        b.get_with("digits", GetOptions::default().range(ByteRange::From(10)))
            .await,
        ErrorKind::InvalidArgument,
        "range starting at the end",
    );
    assert_kind(
        b.get_with("digits", GetOptions::default().range(5..5))
            .await,
        ErrorKind::InvalidArgument,
        "empty range",
    );
}

/// `If-None-Match` returns nothing while the object is unchanged, the object once it changed.
pub async fn blob_get_if_none_match(f: &dyn Fixture) {
    let b = f.bucket().await;
    let v1 = b.put("page", "v1").await.expect("put");
    assert!(
        b.get_if_changed("page", &v1.etag)
            .await
            .expect("conditional get")
            .is_none(),
        "unchanged object must not be returned"
    );
    b.put("page", "v2").await.expect("put v2");
    let changed = b
        .get_if_changed("page", &v1.etag)
        .await
        .expect("conditional get");
    let body = changed
        .expect("changed object must be returned")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body, "v2");
    assert_kind(
        b.get_with("page", GetOptions::default().if_match(v1.etag))
            .await,
        ErrorKind::PreconditionFailed,
        "get If-Match with a stale ETag",
    );
}

/// A 6 MiB body written as a stream of chunks reads back the same, as a stream.
pub async fn blob_stream_roundtrip(f: &dyn Fixture) {
    let b = f.bucket().await;
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: usize = 24;
    let chunk = |i: usize| Bytes::from(vec![(i % 251) as u8; CHUNK]);
    let stream = futures::stream::iter((0..CHUNKS).map(move |i| Ok(chunk(i))));
    let meta = b
        .put(
            "big/blob.bin",
            Body::from_stream(stream, Some((CHUNK * CHUNKS) as u64)),
        )
        .await
        .expect("streamed put");
    assert_eq!(meta.size, (CHUNK * CHUNKS) as u64);
    let got = b.get("big/blob.bin").await.expect("get");
    let mut stream = got.body.into_stream();
    let mut offset = 0usize;
    while let Some(part) = stream.next().await {
        let part = part.expect("chunk");
        for (j, byte) in part.iter().enumerate() {
            let i = (offset + j) / CHUNK;
            assert_eq!(*byte, (i % 251) as u8, "byte {} differs", offset + j);
        }
        offset += part.len();
    }
    assert_eq!(offset, CHUNK * CHUNKS, "streamed read length");
}

/// A 20 MiB body of unknown size — past every provider's single-request limit — goes up in parts
/// (multipart, blocks, a resumable session) under the portable options: head reports its size,
/// content type and the ETag the put returned, and a suffix range reads its last bytes.
pub async fn blob_unsized_upload_in_parts(f: &dyn Fixture) {
    let b = f.bucket().await;
    const CHUNK: usize = 1024 * 1024;
    const CHUNKS: usize = 20;
    const SIZE: u64 = (CHUNK * CHUNKS) as u64;
    let chunks = (0..CHUNKS).map(|i| Ok(Bytes::from(vec![i as u8; CHUNK])));
    let put = b
        .put_with(
            "big.bin",
            Body::from_stream(futures::stream::iter(chunks), None),
            PutOptions::default().content_type("application/x-test"),
        )
        .await;
    let meta = match put {
        Ok(meta) => Some(meta),
        // The upload completed; only the emulator's answer to it is off. The object is checked
        // below all the same.
        Err(_) if skipped_for_gap(f, "blob.put.parts.response") => None,
        Err(e) => panic!("unsized put failed: {e:?}"),
    };
    let head = b.head("big.bin").await.expect("head");
    assert_eq!(head.size, SIZE, "head size");
    assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
    if let Some(meta) = meta {
        assert_eq!(meta.size, SIZE, "put size");
        assert_eq!(head.etag, meta.etag, "head and put agree on the ETag");
    }
    let tail = b
        .get_with("big.bin", GetOptions::default().range(ByteRange::Suffix(3)))
        .await
        .expect("suffix range");
    assert_eq!(tail.range, SIZE - 3..SIZE);
    let last = (CHUNKS - 1) as u8;
    assert_eq!(
        tail.bytes().await.expect("bytes"),
        Bytes::from(vec![last; 3])
    );
}

/// Delete removes; deleting again (or a never-written key) succeeds.
pub async fn blob_delete_is_idempotent(f: &dyn Fixture) {
    let b = f.bucket().await;
    b.put("tmp", "x").await.expect("put");
    assert!(b.exists("tmp").await.expect("exists"));
    b.delete("tmp").await.expect("delete");
    assert!(!b.exists("tmp").await.expect("exists"));
    assert_kind(b.get("tmp").await, ErrorKind::NotFound, "get after delete");
    b.delete("tmp").await.expect("second delete");
    b.delete("never-written")
        .await
        .expect("delete of a missing key");
}

/// Prefix listing groups by delimiter and pages with tokens, in key order, with nothing lost or
/// repeated.
pub async fn blob_list_prefix_delimiter_pages(f: &dyn Fixture) {
    let b = f.bucket().await;
    for key in ["a/1", "a/2", "a/b/3", "a/b/4", "b/5", "c", "d"] {
        b.put(key, "x").await.expect("put");
    }
    let keys = |objs: &[crate::ObjectMeta]| objs.iter().map(|o| o.key.clone()).collect::<Vec<_>>();

    let page = b
        .list(ListOptions::prefix("a/").delimiter("/"))
        .await
        .expect("list a/");
    assert_eq!(keys(&page.objects), ["a/1", "a/2"]);
    assert_eq!(page.common_prefixes, ["a/b/"]);
    assert!(page.next_page_token.is_none());

    let top = b
        .list(ListOptions::default().delimiter("/"))
        .await
        .expect("list /");
    assert_eq!(keys(&top.objects), ["c", "d"]);
    assert_eq!(top.common_prefixes, ["a/", "b/"]);

    let mut all = Vec::new();
    let mut options = ListOptions::default().page_size(3);
    let mut pages = 0;
    loop {
        let page = b.list(options.clone()).await.expect("paged list");
        pages += 1;
        assert!(
            page.objects.len() <= 3,
            "a page holds at most page_size objects"
        );
        all.extend(keys(&page.objects));
        match page.next_page_token {
            Some(t) => options = options.page_token(t),
            None => break,
        }
    }
    assert_eq!(all, ["a/1", "a/2", "a/b/3", "a/b/4", "b/5", "c", "d"]);
    assert!(
        pages >= 3,
        "7 keys in pages of 3 take at least 3 pages, took {pages}"
    );

    let mut entries = Vec::new();
    let mut options = ListOptions::default().delimiter("/").page_size(1);
    loop {
        let page = b.list(options.clone()).await.expect("paged delimiter list");
        entries.extend(page.common_prefixes);
        entries.extend(keys(&page.objects));
        match page.next_page_token {
            Some(t) => options = options.page_token(t),
            None => break,
        }
    }
    entries.sort();
    entries.dedup();
    assert_eq!(entries, ["a/", "b/", "c", "d"], "paged delimiter listing");
    assert!(
        b.list(ListOptions::prefix("zzz/"))
            .await
            .expect("empty list")
            .objects
            .is_empty()
    );
}

/// Copy duplicates body and content type; a create-only copy onto an existing key fails; a
/// missing source is `NotFound`.
pub async fn blob_copy(f: &dyn Fixture) {
    let b = f.bucket().await;
    if !b.capabilities().copy {
        assert_kind(b.copy("a", "b").await, ErrorKind::Unsupported, "copy");
        return;
    }
    b.put_with(
        "src",
        "payload",
        PutOptions::default().content_type("text/plain"),
    )
    .await
    .expect("put");
    let copied = b.copy("src", "dst").await.expect("copy");
    assert_eq!(copied.size, 7);
    assert_eq!(b.get_bytes("dst").await.expect("get"), "payload");
    assert_eq!(
        b.head("dst").await.expect("head").content_type.as_deref(),
        Some("text/plain")
    );
    let conditional = b.copy_with("src", "dst", WriteCondition::IfNotExists).await;
    if !skipped_for_gap(f, "blob.copy.condition") {
        assert_kind(
            conditional,
            ErrorKind::AlreadyExists,
            "create-only copy onto an existing key",
        );
    }
    assert_kind(
        b.copy("nope", "x").await,
        ErrorKind::NotFound,
        "copy of a missing source",
    );
}

/// Bad keys, names and options fail typed before any call.
pub async fn blob_rejects_bad_input(f: &dyn Fixture) {
    let b = f.bucket().await;
    let long = "k".repeat(b.capabilities().max_key_bytes + 1);
    for (key, what) in [
        ("", "empty key"),
        ("a\nb", "control character"),
        (long.as_str(), "long key"),
        ("..", "dot-dot key"),
    ] {
        assert_kind(b.put(key, "x").await, ErrorKind::InvalidArgument, what);
    }
    assert_kind(
        b.put_with("k", "x", PutOptions::default().metadata("Bad-Name", "v"))
            .await,
        ErrorKind::InvalidArgument,
        "metadata name",
    );
    assert_kind(
        b.list(ListOptions::default().page_size(0)).await,
        ErrorKind::InvalidArgument,
        "page size 0",
    );
}
