"""The contract every ``BlobStore`` keeps."""

from __future__ import annotations

import hashlib

from steward.artifacts.blobs import BlobStore
from steward.core.errors import IntegrityError, InvalidArgument, NotFound


def check_artifact_store(store: BlobStore, corrupt: object = None) -> None:
    """Raise AssertionError naming the broken rule.

    ``corrupt``, when given, is a callable ``corrupt(digest)`` that alters the stored bytes of a
    blob behind the store's back, to prove reads are verified.
    """
    data = b"steward contract \x00\xff" * 100
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest(), "put() must return the sha256 hex digest of the bytes"
    assert store.put(data) == digest, "put() must be idempotent for the same bytes"
    assert store.exists(digest), "exists() must be true after put()"
    assert store.get(digest) == data, "get() must return exactly the bytes put"
    assert store.put(b"") == hashlib.sha256(b"").hexdigest(), "empty blobs must be storable"
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(missing), "exists() must be false for a digest never stored"
    try:
        store.get(missing)
    except NotFound:
        pass
    else:
        raise AssertionError("get() of a missing digest must raise NotFound")
    try:
        store.get("../../etc/passwd")
    except InvalidArgument:
        pass
    else:
        raise AssertionError("get() must refuse anything that is not a sha256 hex digest")
    if callable(corrupt):
        corrupt(digest)
        try:
            store.get(digest)
        except IntegrityError:
            pass
        else:
            raise AssertionError("get() must verify the sha256 and raise IntegrityError on corrupt bytes")
