"""WACZ (Web Archive Collection Zipped): a ZIP of WARC files with indexes and metadata.

Replay reads the WARC files under ``archive/`` in the package; they are unpacked once into a
folder of their own (named by the package's path, size and time, so an unchanged package is not
unpacked again) and replayed as a folder of WARC files. Only the base names of members are used,
so no member can be written outside that folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

WACZ_SUFFIX = ".wacz"


def is_wacz(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(WACZ_SUFFIX) and zipfile.is_zipfile(path)


def unpack(package: Path, cache_dir: Path) -> Path:
    """The folder holding the package's WARC files, unpacked on first use.

    >>> import io, tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(root / "c.wacz", "w") as z:
    ...     z.writestr("archive/data.warc.gz", b"x"); z.writestr("../../evil.warc.gz", b"y")
    ...     z.writestr("datapackage.json", b"{}")
    >>> folder = unpack(root / "c.wacz", root / "cache")
    >>> sorted(p.name for p in folder.iterdir())
    ['data.warc.gz']
    """
    stat = package.stat()
    key = hashlib.sha256(f"{package.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    folder = cache_dir / f"wacz-{key}"
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FileExistsError(f"{folder} is a link or not a folder: not unpacking {package} there")
    if folder.is_dir():
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".wacz-{key}.", suffix=".part", dir=cache_dir))
    try:
        _extract(package, partial)
        os.rename(partial, folder)  # whole, or not there
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def _extract(package: Path, partial: Path) -> None:
    """The package's WARC files (members under ``archive/``), by base name, into ``partial``."""
    with zipfile.ZipFile(package) as archive:
        for member in archive.infolist():
            parts = member.filename.split("/")
            if (
                member.is_dir()
                or parts[0] != "archive"
                or not parts[-1].lower().endswith((".warc", ".warc.gz"))
            ):
                continue
            with archive.open(member) as source, (partial / Path(parts[-1]).name).open("xb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
