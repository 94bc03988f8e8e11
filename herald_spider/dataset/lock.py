"""One writer at a time per dataset: an advisory ``flock`` on ``<dataset>/.herald.lock``.

The lock is held for a whole crawl (the crawl reads which articles are stored when it starts,
so a second crawl writing meanwhile would store duplicates) and for ``herald-dataset compact``.
The processes of one crawl shared through Redis (``HERALD_REDIS_URL``: its frontier and
dedup are shared, so they cannot store an article twice) hold it together, shared
(:meth:`DatasetLock.acquire_shared`); whatever else writes waits for the last of them, and
the last of them to finish takes it alone for the end-of-crawl compaction
(:meth:`DatasetLock.last_holder`).
The kernel releases it when the process dies, so a killed crawl never leaves a stale lock. The
file holds the holder's description, which the second writer shows in its message.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from herald_spider.dataset.integrity import LOCK_NAME
from herald_spider.errors import Refused

logger = logging.getLogger(__name__)

__all__ = ["LOCK_NAME", "DatasetLock", "DatasetLocked", "open_lock_file"]


class DatasetLocked(Refused):
    """Another process is writing the dataset."""


def open_lock_file(path: Path) -> int:
    """Open (or create) the lock file without following a link; refuse anything but a plain file.

    A lock file that is a symlink (a dataset copied from an archive or a shared folder) would
    make every writer truncate the file it points to, anywhere on the machine; a hard link
    would do the same to its other name.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        kind = "a symlink" if path.is_symlink() else exc.strerror
        raise Refused(
            f"Cannot use the lock file {path} ({kind}): nothing was written. Remove it if it is a "
            f"link or not a plain file, or make the dataset folder writable."
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(info.st_mode) else "a hard link to another file"
        raise Refused(f"The lock file {path} is {what}: nothing was written. Remove it and run again.")
    return fd


def _try_flock(fd: int, operation: int) -> bool:
    """Take (or convert to) a lock without waiting; False when another holder is in the way."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    """The holder line of the lock file: ``shared crawl <id> (first pid <pid>)``."""
    return os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()


class DatasetLock:
    def __init__(self, dataset_dir: Path, holder: str) -> None:
        self.path = dataset_dir / LOCK_NAME
        self.holder = holder
        self._fd: int | None = None
        #: held alone (a lone writer, or the last process of a shared crawl), not shared
        self._alone = False
        #: no other writer held the lock when this one took it: what a killed writer left
        #: behind (temporary files) is stale, not another process's write in progress
        self.first = False

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; raise :class:`DatasetLocked` if busy."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Refused(f"Cannot create the dataset folder {self.path.parent}: {exc.strerror}") from None
        fd = open_lock_file(self.path)
        deadline = time.monotonic() + wait
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited and wait > 0:
                    other = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                    logger.info(
                        "Waiting up to %.0f s for %s to finish writing %s", wait, other, self.path.parent
                    )
                    waited = True
                if time.monotonic() >= deadline:
                    other = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
                    os.close(fd)
                    raise DatasetLocked(
                        f"Dataset {self.path.parent} is being written by {other}. Only one crawl "
                        f"or compaction may write a dataset at a time: wait for it to finish, or let "
                        f"this one wait (-s HERALD_LOCK_WAIT=<seconds> for a crawl, --wait for "
                        f"herald-dataset compact)."
                    ) from None
                time.sleep(0.1)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{self.holder} (pid {os.getpid()})\n".encode(), 0)
        except OSError as exc:
            os.close(fd)  # closing drops the flock too
            raise Refused(
                f"Cannot write the lock file {self.path}: {exc.strerror}. Nothing was written."
            ) from None
        self._fd, self._alone, self.first = fd, True, True

    def acquire_shared(
        self, crawl_id: str, wait: float = 0.0, while_alone: Callable[[], object] | None = None
    ) -> None:
        """Take the lock with the other processes of the shared crawl ``crawl_id``.

        The first process takes it alone for a moment to write ``shared crawl <crawl_id>`` in
        the lock file, and to run ``while_alone`` (what no two writers may do at once: making
        the tables), then shares it; a process that joins reads that line, so the processes
        of another crawl (another Redis, another key) are refused as any other writer is.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Refused(f"Cannot create the dataset folder {self.path.parent}: {exc.strerror}") from None
        fd = open_lock_file(self.path)
        mine = f"shared crawl {crawl_id}"
        # at least a moment: the first process shares the lock a few instructions after taking it
        deadline = time.monotonic() + max(wait, 5.0)
        while True:
            if _try_flock(fd, fcntl.LOCK_EX):  # no other holder: this one starts the share
                try:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{mine} (first pid {os.getpid()})\n".encode(), 0)
                except OSError as exc:
                    os.close(fd)
                    raise Refused(
                        f"Cannot write the lock file {self.path}: {exc.strerror}. Nothing was written."
                    ) from None
                if while_alone is not None:
                    try:
                        while_alone()
                    except BaseException:
                        os.ftruncate(fd, 0)
                        os.close(fd)
                        raise
                    while_alone = None  # done: not again if this loop goes round once more
                # flock shares it by letting go first: a writer may take it in between (then
                # this one waits), and may leave its own line (then this one starts again)
                if _try_flock(fd, fcntl.LOCK_SH) and _holder(fd).split(" (")[0] == mine:
                    self.first = True
                    break
            elif _try_flock(fd, fcntl.LOCK_SH):
                holder = _holder(fd)
                if holder.split(" (")[0] == mine:
                    break
                if holder:  # another crawl's processes write the dataset
                    os.close(fd)
                    raise DatasetLocked(
                        f"Dataset {self.path.parent} is being written by {holder}, not by shared "
                        f"crawl {crawl_id}: the processes of one crawl must write one dataset, and "
                        f"other crawls wait for them (check HERALD_DATASET_DIR, HERALD_REDIS_URL "
                        f"and HERALD_REDIS_KEY)."
                    ) from None
                fcntl.flock(fd, fcntl.LOCK_UN)  # no line yet: the first holder is writing it
            if time.monotonic() >= deadline:
                other = _holder(fd) or "another process"
                os.close(fd)
                raise DatasetLocked(
                    f"Dataset {self.path.parent} is being written by {other}: the processes of "
                    f"shared crawl {crawl_id} wait for it to finish (-s HERALD_LOCK_WAIT=<seconds>)."
                ) from None
            time.sleep(0.1)
        self._fd, self._alone = fd, False

    def last_holder(self) -> bool:
        """Turn a shared hold into a lone one, if no other process holds the lock; False (and
        the lock no longer held) when another still does. The last process of a shared crawl
        to finish gets True, and with it the dataset to itself."""
        if self._fd is None:
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # the shared hold went with the attempt (flock converts by releasing first)
            os.close(self._fd)
            self._fd = None
            return False
        self._alone = True
        return True

    def release(self) -> None:
        if self._fd is not None:
            if self._alone:  # the holder line stays while other processes share the lock
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
