"""The set of stored article IDs, compact enough for millions of articles.

The IDs read from the dataset are held as one sorted NumPy array of fixed-width bytes (an Arc
ID is 26 ASCII characters: 26 bytes each), looked up by binary search; the few IDs a crawl adds
go to a small ``set``. For 1 000 000 articles a crawl then holds 50 MB after loading them (27 MB
of array, the rest what reading left), where a Python ``set`` of ``bytes`` held 121 MB; a lookup
takes about 3 µs. So a crawl's memory grows with the dataset by its IDs alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

_BATCH_ROWS = 65_536


def fixed_width(ids: pa.Array) -> Any:
    """A string array (no nulls, no empty strings) as a NumPy array of fixed-width bytes, built
    from Arrow's buffers without a Python object per ID when every ID has one length."""
    if not len(ids):
        return np.empty(0, "S1")
    lengths = pc.binary_length(ids)
    longest = max(1, pc.max(lengths).as_py())
    if pc.min(lengths).as_py() == longest and ids.type == pa.string():
        offsets, data = ids.buffers()[1:3]
        assert offsets is not None and data is not None
        start = int(np.frombuffer(offsets, np.int32, count=1, offset=4 * ids.offset)[0])
        return np.frombuffer(data, f"S{longest}", count=len(ids), offset=start).copy()
    return np.array(ids.cast(pa.binary()).to_pylist(), f"S{longest}")


class KnownIds:
    """A set of article IDs (``in``, ``add``, ``len``) stored compactly.

    >>> known = KnownIds(["ABCDEFGHIJKLMNOPQRSTUVWXYZ", "odd-id", "odd-id"])
    >>> "ABCDEFGHIJKLMNOPQRSTUVWXYZ" in known, "odd-id" in known, "ABCDEFGHIJKLMNOPQRSTUVWXY0" in known
    (True, True, False)
    >>> "odd" in known, "ABCDEFGHIJKLMNOPQRSTUVWXYZ!" in known, "" in known, len(known)
    (False, False, False, 2)
    >>> known.add("ABCDEFGHIJKLMNOPQRSTUVWXY0"); known.add("odd-id"); len(known)
    3
    """

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._sorted: Any = np.empty(0, "S1")  # may hold an ID twice: _count counts each once
        self._count = 0
        self._added: set[bytes] = set()
        self._pending: list[Any] = []
        self.update_arrow(pa.array(list(ids), pa.string()))

    def update_arrow(self, ids: pa.Array | pa.ChunkedArray) -> None:
        """Add a string array of IDs (nulls and empty strings skipped) in one conversion."""
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        ids = pc.drop_null(ids)
        ids = ids.filter(pc.greater(pc.binary_length(ids), 0))
        if len(ids):
            self._pending.append(fixed_width(ids))

    def _settled(self) -> Any:
        """The sorted array, with the IDs added since merged in (once, on the next lookup)."""
        if self._pending:
            parts = [self._sorted, *self._pending]
            width = max(part.dtype.itemsize for part in parts)
            self._pending = []
            self._use(np.concatenate([part.astype(f"S{width}", copy=False) for part in parts]))
        return self._sorted

    def _use(self, ids: Any) -> None:
        """Hold ``ids`` (sorted in place) as the stored IDs. Repeats are counted once but not
        removed: removing them would copy the array, doubling the peak memory for a moment."""
        ids.sort()  # in place: np.unique sorts a copy, several times slower
        self._count = int(np.count_nonzero(ids[1:] != ids[:-1])) + 1 if len(ids) else 0
        self._sorted = ids

    def add(self, article_id: str) -> None:
        if article_id not in self:
            self._added.add(article_id.encode())

    def __contains__(self, article_id: object) -> bool:
        if not isinstance(article_id, str) or not article_id:
            return False
        key = article_id.encode()
        if key in self._added:
            return True
        stored = self._settled()
        if len(key) > stored.dtype.itemsize or key.endswith(b"\0"):
            return False
        found = int(np.searchsorted(stored, key))
        return found < len(stored) and bytes(stored[found]) == key

    def __len__(self) -> int:
        self._settled()
        return self._count + len(self._added)


def read_known(files: Iterable[Path]) -> KnownIds:
    """The ``article_id`` column of the given Parquet files, read a batch at a time into one
    array sized from the files' footers, so that only that array stays in memory.

    Read through a dataset scanner, one file at a time: ``ParquetFile.iter_batches`` kept
    about 30 MB more for a million IDs (what the allocator held on to), and open files hold
    their footers.
    """
    paths = list(files)
    total = sum(pq.read_metadata(path).num_rows for path in paths)
    held: Any = None
    filled = 0
    for path in paths:
        scan = ds.dataset(str(path), format="parquet").to_batches(
            columns=["article_id"],
            batch_size=_BATCH_ROWS,
            use_threads=False,
            batch_readahead=0,
            fragment_readahead=0,
        )
        for batch in scan:
            ids = pc.drop_null(batch.column(0))
            ids = ids.filter(pc.greater(pc.binary_length(ids), 0))
            if not len(ids):
                continue
            chunk = fixed_width(ids)
            if held is None:
                held = np.empty(total, chunk.dtype)
            elif chunk.dtype.itemsize > held.dtype.itemsize:  # a longer ID than those before
                held = held.astype(chunk.dtype)
            held[filled : filled + len(chunk)] = chunk.astype(held.dtype, copy=False)
            filled += len(chunk)
    known = KnownIds()
    if held is not None:
        known._use(held[:filled])
    return known
