"""Where moto's S3 spends what S3 does not, cut once at the source.

Every worker's S3 calls are served in the local runtime's one interpreter, so what moto spends
per request is a Distributed Map's wall here (MergeBuckets: two merge workers kept the process
80 % busy). The answers are unchanged; what is cut:
- the URL table: rebuilt, its module re-imported (`importlib.reload`), on every request;
- a ranged GET: read and copied the whole object, then sliced it.

One answer is fixed: a GET whose key another request replaced or deleted between moto finding
it and reading it (moto closes the old object's buffer) raised "I/O operation on closed file";
S3 answers such a GET with the old or the new object, never an error. Here it answers what the
key holds now (or NoSuchKey).
"""

from __future__ import annotations


def apply() -> None:
    _s3_urls_once()
    _ranged_reads()


def _s3_urls_once() -> None:
    """moto's S3 re-imports its URL module on every request (`importlib.reload`, so a changed
    custom-endpoint variable is seen) and rebuilds the URL table from it: about a tenth of a
    ranged GET's time here. The local account sets no custom endpoint: the table is built
    once."""
    from moto.s3.models import S3Backend

    if getattr(S3Backend, "_calltime_urls_once", False):
        return
    built: dict[str, object] = {}
    urls = S3Backend.urls

    def urls_once(self: S3Backend) -> dict[str, object]:
        if not built:
            built.update(urls.fget(self))  # type: ignore[union-attr]
        return built

    S3Backend.urls = property(urls_once)  # type: ignore[method-assign,assignment]
    S3Backend._calltime_urls_once = True  # type: ignore[attr-defined]


class _Window:
    """An object's bytes as moto's ranged GET uses them (its length, then one slice), read
    from the object's buffer only where sliced."""

    def __init__(self, key: object) -> None:
        self.key = key

    def __len__(self) -> int:
        return self.key.size  # type: ignore[attr-defined]

    def __getitem__(self, part: slice) -> bytes:
        start, stop, step = part.indices(len(self))
        if step != 1:
            return self.whole()[part]
        with self.key.lock:  # type: ignore[attr-defined]
            buffer = self.key._value_buffer  # type: ignore[attr-defined]
            buffer.seek(start)
            return buffer.read(max(0, stop - start))

    def whole(self) -> bytes:
        return self.key.value  # type: ignore[attr-defined,no-any-return]


_LOOKUPS = 5  # a key replaced this many times while one GET reads it is answered as an error


def _closed(key: object) -> bool:
    """Whether a key moto found has been disposed of since (replaced, or deleted)."""
    buffer = getattr(key, "_value_buffer", None)
    return bool(buffer is not None and buffer.closed)


def _ranged_reads() -> None:
    """moto's ranged GET reads (and copies) the whole object, then slices it: a merge worker's
    16-byte offsets read of a 4 MB part cost a 4 MB read. Here `get_object` slices the range
    itself, from the object it found, where moto copied it (a PUT replacing the key a moment
    later closes the old object's buffer); what does not slice it (a multi-range request,
    partNumber) gets the whole object, as before. A GET whose key was replaced or deleted
    between moto's lookup and its read (its buffer closed) is answered again, from the key as
    it is now."""
    import threading

    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_calltime_ranged_reads", False):
        return
    ranged = threading.local()
    value = FakeKey.value
    get_object = S3Response.get_object
    get_key = S3Response._get_key

    def value_or_window(self: FakeKey) -> object:
        if getattr(ranged, "wanted", False):
            ranged.wanted = False
            return _Window(self)
        return value.fget(self)  # type: ignore[attr-defined]

    def key_found(self: S3Response, *args: object, **kwargs: object) -> object:
        found = get_key(self, *args, **kwargs)
        ranged.found = found[0]
        return found

    def answer(self: S3Response) -> object:
        ranged.wanted = bool(self.headers.get("range"))
        try:
            status, headers, body = get_object(self)
        finally:
            ranged.wanted = False
        if isinstance(body, _Window) and status == 200:
            # what key_response would do with the copy (InvalidRange raised as there)
            status, headers, body = self._handle_range_header(self.request, headers, body)
        return status, headers, body.whole() if isinstance(body, _Window) else body

    def ranged_get_object(self: S3Response) -> object:
        lookups = 0
        while True:
            ranged.found = None
            try:
                return answer(self)
            except ValueError:
                # the key found was replaced or deleted (its buffer closed) before it was
                # read: S3 answers what the key holds now, so look it up again
                lookups += 1
                if not _closed(ranged.found) or lookups == _LOOKUPS:
                    raise
            finally:
                ranged.found = None  # no key kept alive by this thread

    FakeKey.value = property(value_or_window, value.fset)  # type: ignore[method-assign,assignment]
    S3Response.get_object = ranged_get_object  # type: ignore[method-assign]
    S3Response._get_key = key_found  # type: ignore[method-assign]
    S3Response._calltime_ranged_reads = True  # type: ignore[attr-defined]
