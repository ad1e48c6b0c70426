"""Where a scale-out run keeps its intermediate files: s3://<bucket>/work/<execution>/...

Every key is a function of the run's work prefix and a part index (and slice) or a bucket
number, zero-padded so that listing order is part order, then slice order. The TrainOnSample
step removes the whole prefix when the run has staged its model; a lifecycle rule expires what a
failed run leaves.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline_lambdas.errors import DamagedWorkArea
from training import call_validation


def pieces_prefix(work: str) -> str:
    return f"{work}pieces/"


def pieces_key(work: str, part: int, slice_: int) -> str:
    """One partition slice's rows, every bucket's in one object (`encode_pieces`)."""
    return f"{pieces_prefix(work)}part={part:05d}-{slice_:04d}.arrows"


def part_rejects_key(work: str, part: int, slice_: int) -> str:
    return f"{work}rejects/part={part:05d}-{slice_:04d}.csv"


def bucket_rejects_key(work: str, bucket: int) -> str:
    return f"{work}rejects/bucket={bucket:05d}.csv"


def part_summary_key(work: str, part: int) -> str:
    return f"{work}summaries/part={part:05d}.json"


def bucket_summary_key(work: str, bucket: int) -> str:
    return f"{work}summaries/bucket={bucket:05d}.json"


def bucket_key(work: str, bucket: int) -> str:
    return f"{work}buckets/{bucket:05d}.arrows"


def epochs_key(work: str, bucket: int) -> str:
    """The bucket's call times, sorted int64 seconds, raw (read by byte ranges)."""
    return f"{work}epochs/{bucket:05d}.i8"


def hours_key(work: str, bucket: int) -> str:
    """The histogram of those call times by hour (training/streamed_quantile.Histogram)."""
    return f"{work}hours/{bucket:05d}.npz"


def counts_key(work: str, bucket: int) -> str:
    return f"{work}counts/{bucket:05d}.npz"


def sample_key(work: str, bucket: int) -> str:
    return f"{work}sample/{bucket:05d}.arrows"


# --- reading and writing them --------------------------------------------------------------------

def keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for obj in page.get("Contents", []))


def put_frame(s3, bucket: str, key: str, frame: pd.DataFrame | pa.Table) -> None:
    """Rows as CSV (`.csv`: rejects, read by people), an Arrow IPC stream (`.arrows`: what
    the next worker reads) or Parquet."""
    if key.endswith(".csv"):
        body = csv_text(frame).encode()
    elif key.endswith(".arrows"):
        body = _ipc(frame).to_pybytes()
    else:
        buffer = io.BytesIO()
        (frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()).to_parquet(
            buffer, index=False)
        body = buffer.getvalue()
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _is_text_or_whole(dtype: Any) -> bool:
    return (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)) and not pd.api.types.is_bool_dtype(dtype)


def csv_text(frame: pd.DataFrame | pa.Table, header: bool = True) -> str:
    """`frame.to_csv(index=False)`, the same text: a frame of text and whole numbers (what
    rejects are) written by the csv module directly, as pandas writes it (minimal quoting, a
    missing value empty), at about pandas' cost (4.1 against 4.4 ms a slice's 839 rejects);
    any other frame by pandas."""
    if isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    plain_labels = frame.shape[1] and not isinstance(frame.columns, pd.MultiIndex) and all(
        isinstance(label, str) for label in frame.columns)
    if not plain_labels or not all(_is_text_or_whole(dtype) for dtype in frame.dtypes):
        return frame.to_csv(index=False, header=header)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow([str(c) for c in frame.columns])

    columns = []
    for index in range(frame.shape[1]):
        column = frame.iloc[:, index]
        if column.isna().any():  # None, NaN and pd.NA are written empty
            column = column.astype(object).where(column.notna(), "")
        columns.append(column.tolist())
    writer.writerows(zip(*columns, strict=True))
    return out.getvalue()


def get_table(s3, bucket: str, key: str, decode: bool = True) -> pa.Table:
    """An `.arrows` object's rows, as Arrow (dictionary columns as written, unless `decode`)."""
    return _read_ipc(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), bucket, key,
                     decode)


def _damaged(bucket: str, key: str, why: str) -> DamagedWorkArea:
    return DamagedWorkArea(f"s3://{bucket}/{key} cannot be read ({why}): the run's work area is "
                           "damaged; start the run again (it writes a new one; a lifecycle rule "
                           "expires this one)")


def _read_ipc(body: bytes, bucket: str, key: str, decode: bool = True) -> pa.Table:
    """An IPC stream's rows, dictionary-encoded columns decoded back to their values (unless
    `decode` is false: a merge keeps them so until it has written the bucket)."""
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as err:
        raise _damaged(bucket, key, f"not an Arrow stream: {err}") from err
    return call_validation.decoded(table) if decode else table


def get_frame(s3, bucket: str, key: str) -> pd.DataFrame:
    if key.endswith(".arrows"):
        return get_table(s3, bucket, key).to_pandas()
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if key.endswith(".csv"):
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    return pd.read_parquet(io.BytesIO(data))


def put_json(s3, bucket: str, key: str, value: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(value).encode())


def get_json(s3, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def put_arrays(s3, bucket: str, key: str, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    if key.endswith(".npy"):
        (array,) = arrays.values()
        np.save(buffer, array, allow_pickle=False)
    else:
        np.savez(buffer, **arrays)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def get_arrays(s3, bucket: str, key: str) -> Any:
    data = io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return np.load(data, allow_pickle=False)


IO_WINDOW = 16  # requests in flight: S3 answers each in tens of ms; a worker has thousands


def read_all[K, T](items: Sequence[K], read: Callable[[K], T],
                   window: int = IO_WINDOW) -> list[T]:
    """`read(item)` for every item (a key, a byte range), in order, up to `window` at a time
    (boto3 clients are thread-safe)."""
    with ThreadPoolExecutor(max_workers=window) as pool:
        return list(pool.map(read, items))


def write_all(writes: Sequence[Callable[[], object]], window: int = IO_WINDOW) -> None:
    with ThreadPoolExecutor(max_workers=window) as pool:
        for done in [pool.submit(write) for write in writes]:
            done.result()


def concatenate_csv(s3, bucket: str, keys_: Sequence[str], target: str,
                    empty_columns: Sequence[str]) -> int:
    """One CSV at `target` from the CSVs at `keys_`, in order, under the union of their headers
    (first seen first), written by multipart upload one file at a time: a billion rows' rejects
    never meet in memory. An empty file has `empty_columns`. Returns the rows written."""
    columns: list[str] = []
    for header in read_all(keys_, lambda key: _header(s3, bucket, key)):
        columns += [c for c in header if c not in columns]
    columns = columns or list(empty_columns)
    upload = s3.create_multipart_upload(Bucket=bucket, Key=target, ContentType="text/csv")
    parts: list[dict[str, Any]] = []
    buffer = io.BytesIO()
    buffer.write(csv_text(pd.DataFrame(columns=columns)).encode())
    rows = 0

    def flush() -> None:
        number = len(parts) + 1
        etag = s3.upload_part(Bucket=bucket, Key=target, UploadId=upload["UploadId"],
                              PartNumber=number, Body=buffer.getvalue())["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        buffer.seek(0)
        buffer.truncate()

    try:
        for key in keys_:
            frame = get_frame(s3, bucket, key).reindex(columns=columns, fill_value="")
            buffer.write(csv_text(frame, header=False).encode())
            rows += len(frame)
            if buffer.tell() >= MULTIPART_BYTES:
                flush()
        if buffer.tell() or not parts:
            flush()
        s3.complete_multipart_upload(Bucket=bucket, Key=target, UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=upload["UploadId"])
        raise
    return rows


MULTIPART_BYTES = 8 * 1024 * 1024  # S3: every part but the last at least 5 MiB


def _header(s3, bucket: str, key: str) -> list[str]:
    head = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-65535")["Body"].read()
    line = head.split(b"\n", 1)[0].decode("utf-8-sig")
    return list(pd.read_csv(io.StringIO(line + "\n"), dtype=str, nrows=0).columns)


def put_int64(s3, bucket: str, key: str, values: np.ndarray) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=np.asarray(values, dtype="<i8").tobytes())


def get_int64(s3, bucket: str, key: str, start: int, stop: int) -> np.ndarray:
    """Values [start:stop) of a raw int64 object: one ranged GET of their bytes."""
    body = s3.get_object(Bucket=bucket, Key=key,
                         Range=f"bytes={start * 8}-{stop * 8 - 1}")["Body"].read()
    return np.frombuffer(body, dtype="<i8")


# --- a partition slice's pieces: one object, a byte range per bucket ------------------------------
#
# A slice's rows go to one object, not one per bucket: S3 bills a request per object written,
# and parts x slices x buckets PUTs were most of what a billion-row run cost. The object starts
# with buckets + 1 int64 byte offsets; bucket b's rows are bytes [offsets[b], offsets[b+1]), an
# Arrow IPC stream (lz4), empty where the slice has none of the bucket's rows. A merge worker
# reads its two offsets and then its range: two small ranged GETs per slice, none for a bucket
# the slice does not hold after the first.


# Columns of few distinct values (a log has a few zones and campaigns, a piece one file): written
# dictionary-encoded, 40 % fewer bytes for every worker that reads them, read back as text.
_FEW_VALUES = ("timezone", "campaign_id", "source_file")


def _ipc(rows: pa.Table | pd.DataFrame) -> pa.Buffer:
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows,
                                                                         preserve_index=False)
    for name in _FEW_VALUES:
        index = table.schema.get_field_index(name)
        if index >= 0 and not pa.types.is_dictionary(table.schema.field(index).type):
            table = table.set_column(index, name, pc.dictionary_encode(table.column(index)))
    sink = pa.BufferOutputStream()
    # Uncompressed: with the few-value columns dictionaries, 1.7x lz4's bytes, and lz4 was
    # the largest share of a partition worker's CPU (15 ms of 100 a 100,000-row part), and
    # of a merge worker's; a reader maps the stream's buffers as they are, copying nothing.
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def encode_pieces(frames: dict[int, pa.Table | pd.DataFrame], buckets: int) -> bytes:
    """One slice's rows per bucket (`frames`: bucket -> rows; buckets absent are empty) as the
    object a partition worker writes."""
    if any(not 0 <= number < buckets for number in frames):
        raise ValueError(f"bucket numbers must be in [0, {buckets}): got {sorted(frames)}")
    blobs = [_ipc(frames[b]) if b in frames and len(frames[b]) else b"" for b in range(buckets)]
    offsets = np.cumsum([8 * (buckets + 1)] + [len(blob) for blob in blobs], dtype="<i8")
    return b"".join([offsets.tobytes(), *blobs])  # the streams' buffers copied once


def get_piece(s3, bucket: str, key: str, number: int) -> pa.Table | None:
    """Bucket `number`'s rows of a slice's pieces object (None where it has none), its few-value
    columns still dictionaries (`_FEW_VALUES`)."""
    head = s3.get_object(Bucket=bucket, Key=key,
                         Range=f"bytes={number * 8}-{number * 8 + 15}")["Body"].read()
    if len(head) != 16:
        raise _damaged(bucket, key, f"its offsets end before bucket {number}'s")
    start, stop = (int(v) for v in np.frombuffer(head, dtype="<i8"))
    if start < 8 * (number + 2) or stop < start:  # the data starts after every offset
        raise _damaged(bucket, key, f"bucket {number}'s offsets {start}, {stop} are not a range "
                                    "after the offsets")
    if stop == start:
        return None
    try:
        body = s3.get_object(Bucket=bucket, Key=key,
                             Range=f"bytes={start}-{stop - 1}")["Body"].read()
    except s3.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") != "InvalidRange":
            raise
        body = b""
    if len(body) != stop - start:
        raise _damaged(bucket, key, f"bucket {number}'s bytes {start}-{stop - 1} are missing")
    return _read_ipc(body, bucket, key, decode=False)


def remove(s3, bucket: str, prefix: str) -> int:
    """Delete every object under the prefix; how many there were."""
    found = keys(s3, bucket, prefix)
    delete(s3, bucket, found)
    return len(found)


def delete(s3, bucket: str, keys_: list[str]) -> None:
    for start in range(0, len(keys_), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": key} for key in keys_[start:start + 1000]], "Quiet": True})
