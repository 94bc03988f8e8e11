"""One writer at a time per dataset: an advisory ``flock`` on ``<dataset>/.herald.lock``.

The lock is held for a whole crawl (the crawl reads which articles are stored when it starts,
so a second crawl writing meanwhile would store duplicates) and for ``herald-dataset compact``.
The kernel releases it when the process dies, so a killed crawl never leaves a stale lock. The
file holds the holder's description, which the second writer shows in its message.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import time
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


class DatasetLock:
    def __init__(self, dataset_dir: Path, holder: str) -> None:
        self.path = dataset_dir / LOCK_NAME
        self.holder = holder
        self._fd: int | None = None

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
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
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
