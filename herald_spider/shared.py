"""One crawl, several processes: the crawl's state in Redis (``HERALD_REDIS_URL``).

Every process of a shared crawl has a :class:`SharedCrawl`. The keys, under
``HERALD_REDIS_KEY`` (default ``herald:<spider>:<section>``):

=====================  ================================================================
``<key>:crawl``        hash: the crawl ID every process writes under
``<key>:marked``       the token of the crawl's dataset folder (:func:`make_marker`)
``<key>:seeded``       set by the process that seeds the crawl (the section listing)
``<key>:requests``     sorted set: the frontier (scrapy-redis's priority queue)
``<key>:dupefilter``   set: the fingerprints of every request scheduled (scrapy-redis)
``<key>:workers``      hash: the processes of the crawl, worker ID -> who and where
``<key>:alive:<w>``    a worker's heartbeat: ``busy`` or ``idle``, expiring after
                       ``HERALD_REDIS_LEASE_SECONDS``
``<key>:leases:<w>``   hash: the requests a worker took from the frontier and has not
                       finished (an article's until its row is in a file)
``<key>:reclaim:<w>``  hash: leases a worker took over from a dead one, being put back
``<key>:urls:<id>``    the URLs other processes found an article under (tried on a 404)
``<key>:rate:<host>``  the next moment a request to ``host`` may start (live crawls)
=====================  ================================================================

A request is taken from the frontier and leased in one step (a Lua script), so a process
killed at any moment leaves its requests in its lease hash; once its heartbeat has expired,
another process (or the next run) puts them back in the frontier, apart from the articles
the dead process had already written (read from its files). When the frontier is empty and
every other process idle for ``HERALD_REDIS_IDLE_SECONDS``, the processes stop; the last one
to stop removes the crawl's keys once the crawl finished, so the next crawl starts afresh.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict

from herald_spider.dataset.integrity import FRONTIER_DIR
from herald_spider.errors import Refused
from herald_spider.meta import ARTICLE_ID, LEASE

logger = logging.getLogger(__name__)

#: A key prefix with no character that Redis's patterns (``SCAN MATCH``) read as a wildcard.
_KEY = re.compile(r"^[A-Za-z0-9:_./-]{1,200}$")

#: What a lost or refused connection to Redis raises (a timeout included).
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)

# Take the first requests of the frontier (up to ARGV[2]) and lease them to a worker, in one step.
_POP = """
local first = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #first == 0 then return first end
redis.call('ZREM', KEYS[1], unpack(first))
for _, entry in ipairs(first) do redis.call('HSET', KEYS[2], entry, ARGV[1]) end
return first
"""

# Schedule a request: mark its fingerprint seen and put it in the frontier, in one step (a
# process killed between the two would leave a fingerprint seen and its request nowhere); the
# lease it came under (a retry, a redirect) ends with it. 0 when the fingerprint was seen.
# An article request filtered as seen leaves its URL among the article's URLs (KEYS[4]): the
# process that fetches the article tries them when its own URL answers 404.
_SCHEDULE = """
local fresh = ARGV[1] == '' or redis.call('SADD', KEYS[1], ARGV[1]) == 1
if fresh then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2]) end
if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) end
if not fresh and ARGV[5] ~= '' then redis.call('SADD', KEYS[4], ARGV[5]) end
return fresh and 1 or 0
"""

# Move the leases of a worker whose heartbeat expired to another worker's reclaim hash, once.
_TAKE_OVER = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
local moved = 0
for _, key in ipairs({KEYS[3], KEYS[4]}) do
  local entries = redis.call('HGETALL', key)
  for i = 1, #entries, 2 do
    redis.call('HSET', KEYS[5], entries[i], entries[i + 1])
    moved = moved + 1
  end
  redis.call('DEL', key)
end
return moved
"""

# The start of the next request slot of a host: requests to it start DELAY apart, whoever sends.
_RESERVE = """
local now = redis.call('TIME')
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(micros, next_free)
redis.call('SET', KEYS[1], string.format('%.0f', at + tonumber(ARGV[1])), 'PX', ARGV[2])
return at - micros
"""


class SharedCrawl:
    """This process's view of a crawl shared through Redis."""

    def __init__(self, client: redis.Redis, url: str, key: str, *, lease_seconds: float) -> None:
        self.client = client
        self.url = url
        self.key = key
        self.lease_seconds = lease_seconds
        #: This process: names its files (``part-<crawl_id>@<worker>-...``) and its runs row.
        self.worker = secrets.token_hex(4)
        self.crawl_id: str | None = None
        #: Set once Redis could not be reached mid-crawl: the process stops (``redis_lost``).
        self.lost: str | None = None
        self._pop = client.register_script(_POP)
        self._schedule = client.register_script(_SCHEDULE)
        self._take_over = client.register_script(_TAKE_OVER)
        self._reserve = client.register_script(_RESERVE)
        #: The leases of articles on their way through the pipelines, by article ID.
        self.articles: dict[str, bytes] = {}
        #: Article IDs appended to this process's article buffer and not yet in a file.
        self.unwritten: set[str] = set()
        #: Leases whose articles wait in the buffer: released once the buffer is written.
        self.awaiting: set[bytes] = set()

    # --- keys -------------------------------------------------------------------------

    def name(self, suffix: str) -> str:
        return f"{self.key}:{suffix}"

    @property
    def queue_key(self) -> str:
        return self.name("requests")

    @property
    def dupefilter_key(self) -> str:
        return self.name("dupefilter")

    @property
    def leases_key(self) -> str:
        return self.name(f"leases:{self.worker}")

    # --- start ------------------------------------------------------------------------

    @classmethod
    def connect(cls, url: str, key: str, *, lease_seconds: float) -> SharedCrawl:
        """Connect and ping; :class:`Refused` (one line, nothing written) when Redis cannot be
        reached, or the key has characters Redis's patterns read as wildcards."""
        if not _KEY.match(key):
            raise Refused(
                f"HERALD_REDIS_KEY={key!r}: letters, digits and : _ . / - only (the crawl's keys are "
                f"found and removed by patterns under it)"
            )
        shown = _without_password(url)
        try:
            # one connection, no pool: every call comes from the reactor thread
            client = redis.Redis.from_url(
                url, socket_timeout=30, socket_connect_timeout=10, single_connection_client=True
            )
            client.ping()
        except ValueError as exc:  # a URL redis-py cannot read
            raise Refused(f"HERALD_REDIS_URL={shown} is not a Redis URL: {exc}") from None
        except (redis.RedisError, OSError) as exc:
            raise Refused(
                f"Cannot reach Redis at HERALD_REDIS_URL={shown}: {exc}. Start it (redis-server) or "
                f"fix the URL; nothing was fetched or written."
            ) from None
        return cls(client, shown, key, lease_seconds=lease_seconds)

    def join(self, wanted: str) -> tuple[str, bool]:
        """The crawl ID of the shared crawl (``wanted`` when this process starts it) and whether
        this process started it."""
        started = bool(self.client.hsetnx(self.name("crawl"), "crawl_id", wanted))
        self.crawl_id = _text(self.client.hget(self.name("crawl"), "crawl_id"))
        return self.crawl_id, started

    def running_crawl(self) -> str | None:
        """The crawl ID of a shared crawl already under way in this Redis, if any."""
        current = self.client.hget(self.name("crawl"), "crawl_id")
        return _text(current) if current is not None else None

    def register(self) -> None:
        """Enter the crawl's workers, with a heartbeat."""
        who = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        self.client.hset(self.name("workers"), self.worker, json.dumps(who))
        self.beat(busy=True)

    def mark(self, token: str) -> str:
        """The token of the crawl's dataset folder: ``token`` if this is the first folder to
        ask (see :func:`make_marker`)."""
        self.client.set(self.name("marked"), token, nx=True)
        return _text(self.client.get(self.name("marked")))

    def forget_crawl(self, crawl_id: str) -> None:
        """Undo :meth:`join` of a crawl this process started and cannot go on with, when no
        other process joined it and no folder was marked for it."""
        busy = self.client.hlen(self.name("workers")) or self.client.exists(self.name("marked"))
        if not busy and self.running_crawl() == crawl_id:
            self.client.delete(self.name("crawl"))

    def take_seeding(self) -> bool:
        """Whether this process seeds the crawl (the first of its processes to ask)."""
        return bool(self.client.set(self.name("seeded"), self.worker, nx=True))

    def seeded(self) -> bool:
        return bool(self.client.exists(self.name("seeded")))

    # --- frontier ---------------------------------------------------------------------

    def schedule(
        self,
        fingerprint: str | None,
        data: bytes,
        score: float,
        lease: bytes | None,
        article: tuple[str, str] | None = None,
    ) -> bool:
        """Put an encoded request in the frontier unless its fingerprint was seen (None: never
        filtered); the lease it was fetched under (a retry, a redirect) ends in the same step.
        An ``article`` request, ``(article ID, URL)``, filtered leaves its URL among the
        article's (:meth:`urls_of`). Whether it went in."""
        article_id, url = article or ("", "")
        keys = [self.dupefilter_key, self.queue_key, self.leases_key, self.name(f"urls:{article_id}")]
        args: list[bytes | str | float] = [fingerprint or "", data, score, lease or b"", url]
        return bool(self._schedule(keys=keys, args=args))

    def urls_of(self, article_id: str) -> list[str]:
        """The URLs other processes found an article under (their requests were filtered: the
        article was requested already)."""
        return sorted(_text(url) for url in self.client.smembers(self.name(f"urls:{article_id}")))

    def pop(self, count: int) -> list[bytes]:
        """The first ``count`` requests of the frontier (fewer when it holds fewer), leased to
        this process."""
        found = self._pop(keys=[self.queue_key, self.leases_key], args=[time.time(), count])
        return [_bytes(entry) for entry in found or ()]

    def queued(self) -> int:
        return int(self.client.zcard(self.queue_key))

    # --- leases -----------------------------------------------------------------------

    def release(self, lease: bytes) -> None:
        """A leased request is done with: everything it led to is in the frontier or stored."""
        self.client.hdel(self.leases_key, lease)

    def holds(self, article_id: str, lease: bytes) -> None:
        """The article of a leased request is on its way through the pipelines."""
        self.articles[article_id] = lease

    def article_done(self, article_id: str) -> None:
        """The article left the pipelines: its lease ends now, or once the buffer it waits in
        is written."""
        lease = self.articles.pop(article_id, None)
        if lease is None:
            return
        if article_id in self.unwritten:
            self.awaiting.add(lease)
        else:
            self.release(lease)

    def buffered(self, article_id: str) -> None:
        self.unwritten.add(article_id)

    def written(self) -> None:
        """The buffered articles are in a file: end the leases that waited for them."""
        self.unwritten.clear()
        if self.awaiting:
            leases, self.awaiting = list(self.awaiting), set()
            self.client.hdel(self.leases_key, *leases)

    def end_leases(self) -> None:
        """Every request this process took is done (the crawl finished): no lease is left."""
        self.client.delete(self.leases_key)

    # --- workers ----------------------------------------------------------------------

    def beat(self, *, busy: bool) -> None:
        ttl = max(1, round(self.lease_seconds * 1000))
        self.client.set(self.name(f"alive:{self.worker}"), "busy" if busy else "idle", px=ttl)

    def others(self) -> dict[str, str | None]:
        """The other workers of the crawl: ``busy``, ``idle``, or None when their heartbeat
        expired (the process died or lost Redis)."""
        names = [w for w in self.workers() if w != self.worker]
        if not names:
            return {}
        states = self.client.mget([self.name(f"alive:{w}") for w in names])
        return {w: (_text(s) if s else None) for w, s in zip(names, states, strict=True)}

    def workers(self) -> list[str]:
        return [_text(w) for w in self.client.hkeys(self.name("workers"))]

    def take_over(self, dead: str) -> int:
        """Take the leases of a dead worker into this one's reclaim hash (one process wins);
        the number taken, -1 when another process took them or the worker is alive."""
        keys = [
            self.name("workers"),
            self.name(f"alive:{dead}"),
            self.name(f"leases:{dead}"),
            self.name(f"reclaim:{dead}"),
            self.name(f"reclaim:{self.worker}"),
        ]
        return int(self._take_over(keys=keys, args=[dead]))

    def reclaimed(self) -> list[bytes]:
        return [_bytes(k) for k in self.client.hkeys(self.name(f"reclaim:{self.worker}"))]

    def put_back(self, data: bytes, score: float) -> None:
        """A reclaimed request back in the frontier (not through the dupefilter: it was seen)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(self.queue_key, {data: score})
        pipe.hdel(self.name(f"reclaim:{self.worker}"), data)
        pipe.execute()

    def drop_reclaimed(self, data: bytes) -> None:
        self.client.hdel(self.name(f"reclaim:{self.worker}"), data)

    def leave(self, *, finished: bool) -> None:
        """Leave the crawl. A process that did not finish stays in the workers with its leases
        and no heartbeat: the others take its leases back at once."""
        self.client.delete(self.name(f"alive:{self.worker}"))
        if finished:
            self.client.hdel(self.name("workers"), self.worker)

    def frontier_empty(self) -> bool:
        """No request queued and no lease held by any process of the crawl."""
        if self.queued():
            return False
        names = self.workers()
        leased = [self.name(f"leases:{w}") for w in names] + [self.name(f"reclaim:{w}") for w in names]
        return not any(self.client.exists(k) for k in leased)

    def end_crawl(self) -> None:
        """The crawl is over: remove its keys, so the next crawl with this key starts afresh."""
        keys = [self.name(s) for s in ("crawl", "marked", "seeded", "requests", "dupefilter", "workers")]
        keys += [
            k
            for pattern in ("alive:*", "leases:*", "reclaim:*", "urls:*")
            for k in self.client.scan_iter(self.name(pattern))
        ]
        self.client.delete(*keys)

    # --- politeness -------------------------------------------------------------------

    def reserve(self, host: str, delay: float) -> float:
        """Seconds this process waits before its request to ``host`` starts, so that requests to
        it from every process of the crawl start at least ``delay`` seconds apart."""
        ttl = max(1000, round(delay * 1000 * 10))
        waited = self._reserve(keys=[self.name(f"rate:{host}")], args=[round(delay * 1_000_000), ttl])
        return int(waited) / 1_000_000


def encode_request(request: Request, spider: Spider) -> bytes:
    """A request as the frontier keeps it: :meth:`scrapy.Request.to_dict` (its lease, which
    names the old copy, left out). The spider's callbacks are named by their own name: Scrapy
    looks for them among all of the spider's members, which cost more than the rest of the
    shared frontier together."""
    callback, errback = _method_name(spider, request.callback), _method_name(spider, request.errback)
    if callback is None or errback is None:
        data = request.to_dict(spider=spider)
    else:
        data = {"url": request.url, "callback": callback or None, "errback": errback or None}
        data["headers"] = dict(request.headers)
        for attribute in request.attributes:
            data.setdefault(attribute, getattr(request, attribute))
        if type(request) is not Request:
            data["_class"] = f"{type(request).__module__}.{type(request).__name__}"
    data["meta"] = {key: value for key, value in request.meta.items() if key != LEASE}
    return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def _method_name(spider: Spider, method: Any) -> str | None:
    """The name of a spider method (``""`` for none); None when ``method`` is something else."""
    if method is None:
        return ""
    name = getattr(method, "__name__", "")
    own = getattr(getattr(spider, name, None), "__func__", None) if name else None
    return name if own is not None and own is getattr(method, "__func__", None) else None


def decode_request(data: bytes, spider: Spider) -> Request:
    return request_from_dict(pickle.loads(data), spider=spider)  # our own frontier's entries


def frontier_entry(data: bytes) -> tuple[str | None, float]:
    """The article ID an encoded request fetches (None for other requests) and its score in
    the frontier."""
    try:
        entry = pickle.loads(data)  # our own frontier's entries
        article_id, priority = (entry.get("meta") or {}).get(ARTICLE_ID), int(entry.get("priority", 0))
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, ImportError):
        return None, 0.0
    return (str(article_id) if article_id else None), float(-priority)


def marker(dataset_dir: Path, crawl_id: str) -> Path:
    """The file that says a shared crawl writes this dataset folder: made by the process that
    starts the crawl, looked for by every process that joins or resumes it (one pointed at
    another folder is refused), removed when the crawl is done."""
    return dataset_dir / FRONTIER_DIR / f"shared@{crawl_id}"


def make_marker(dataset_dir: Path, crawl_id: str) -> tuple[str, bool]:
    """The token of the crawl's mark in this folder, and whether this call made the mark. The
    mark appears whole or not at all (written aside, then linked into place): of processes
    marking one folder at once, one makes it and the others read it."""
    path = marker(dataset_dir, crawl_id)
    path.parent.mkdir(exist_ok=True)
    token = secrets.token_hex(8)
    aside = path.with_name(f".{path.name}.{token}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:  # a full disk leaves nothing behind: the aside file goes whatever happens
        with open(os.open(aside, flags, 0o644), "w", encoding="utf-8") as handle:
            handle.write(token)
        os.link(aside, path)
        made = True
    except FileExistsError:
        made = False
    finally:
        aside.unlink(missing_ok=True)
    if made:
        return token, True
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), encoding="utf-8") as handle:
        return handle.read().strip(), False


def worker_files(table_dir: Path, crawl_id: str, worker: str) -> list[Path]:
    """The files a worker of a shared crawl wrote in a table."""
    return sorted(table_dir.glob(f"part-{crawl_id}@{worker}-*.parquet"))


def _text(value: Any) -> str:
    """A Redis reply as text (redis-py answers bytes)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _without_password(url: str) -> str:
    """The URL as logs show it: a password is not shown.

    >>> _without_password("redis://:s3cret@host:6379/0")
    'redis://:***@host:6379/0'
    >>> _without_password("unix:///tmp/redis.sock?db=0")
    'unix:///tmp/redis.sock?db=0'
    """
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        credentials, _, host = rest.partition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
