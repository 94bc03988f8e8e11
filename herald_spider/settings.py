"""Scrapy settings for herald_spider. Polite by default for the live site.

Project settings (all overridable with ``-s NAME=value``):

- ``HERALD_DATASET_DIR``: where the dataset lives (default ``datasets``).
- ``HERALD_REPLAY``: a wget ``-x`` mirror directory, a WARC file or a folder of WARC files;
  when set, every request is answered from it and nothing touches the network. A path with
  nothing to replay stops the crawl before it starts.
- ``HERALD_REPLAY_AT``: with WARC replay, answer with the capture closest to this time
  (``20250619004000`` or ISO 8601, UTC) instead of the newest.
- ``HERALD_WARC_DIR``: record every downloaded response as WARC 1.1 in this folder (off).
- ``HERALD_WARC_MAX_BYTES``: a WARC file is closed and the next begun past this size (1 GB).
- ``HERALD_BATCH_ROWS``: articles per Parquet file written during a crawl (default 5000).
- ``HERALD_CRAWL_ID``: the crawl's ID (default: UTC start time plus a random suffix); an ID
  an earlier crawl of the dataset used is refused.
- ``HERALD_COMPACT_FILES``: compact a table at the end of a crawl when it has more files
  than this (default 64), or files of an older schema version.
- ``HERALD_COMPACT_GRACE_SECONDS``: how long replaced table versions stay for readers still
  scanning them (default 600).
- ``HERALD_LOCK_WAIT``: seconds a crawl waits for another writer of the dataset (default 0).
- ``HERALD_SOFTBLOCK_LIMIT``: challenge pages in a row that close the crawl (``soft_blocked``).
- ``HERALD_BACKOFF_BASE`` / ``HERALD_BACKOFF_MAX`` / ``HERALD_RETRY_AFTER_MAX``: seconds; see
  ``herald_spider.downloadermiddlewares.backoff``.
- ``HERALD_MAX_TITLE_CHARS`` / ``HERALD_MAX_BODY_CHARS``: longer ones are dropped (``plausible``).
- ``HERALD_LINK_BATCH_ROWS``: link rows per Parquet file written during a crawl (default 50 000).
- ``HERALD_BACKFILL_QUEUE``: a backfill (``-a since=...``) requests its next by-day sitemap
  once no more than this many requests are queued (default 100), so the queue never holds
  more than a few days' entries.
- ``HERALD_MAX_FAILED_SHARE`` / ``HERALD_COVERAGE_DROP`` / ``HERALD_MAX_DROPPED_SHARE`` /
  ``HERALD_MONITOR_RUNS``: the health checks of a crawl (herald_spider/health.py): the share of
  failed article requests, the fall of a field's coverage against the median of the last
  ``HERALD_MONITOR_RUNS`` healthy runs, the share of items dropped for missing fields.
- ``HERALD_PROGRESS_INTERVAL``: seconds between a backfill's progress lines (default 60; 0: none).
- ``HERALD_GC_FREEZE``: freeze the objects alive when the spider opens out of full garbage
  collections (default on).
- ``HERALD_REDIS_URL``: share the crawl with every other process given the same URL (and
  ``HERALD_REDIS_KEY``, default ``herald:<spider>:<section>``): one frontier, one dedup, one
  dataset (herald_spider/shared.py). Off (empty) by default: one process, no Redis.
- ``HERALD_REDIS_IDLE_SECONDS``: a process of a shared crawl stops once the shared frontier
  has been empty, and every other process idle, this long (default 30).
- ``HERALD_REDIS_LEASE_SECONDS``: a process whose heartbeat is this old is taken for dead,
  and the requests it held are fetched by another (default 15).

Every default lives here, once: the components read their settings without fallbacks.
"""

from __future__ import annotations

BOT_NAME = "herald_spider"
SPIDER_MODULES = ["herald_spider.spiders"]
NEWSPIDER_MODULE = "herald_spider.spiders"
# `scrapy crawl` with exit codes that say how the crawl went (herald_spider/commands/crawl.py).
COMMANDS_MODULE = "herald_spider.commands"

HERALD_DATASET_DIR = "datasets"
# Set by `scrapy crawl` only (herald_spider/commands/crawl.py): Scrapy's other commands (shell,
# parse, fetch, bench, check) neither lock nor write the dataset.
HERALD_WRITE_DATASET = False
HERALD_REPLAY = ""
HERALD_REPLAY_AT = ""
HERALD_WARC_DIR = ""
HERALD_WARC_MAX_BYTES = 1_000_000_000
HERALD_BATCH_ROWS = 5000
HERALD_COMPACT_FILES = 64
# The dataset package's own default (herald_spider.dataset.tables.DEFAULT_GRACE_SECONDS) is the
# same; it is not imported here, so that Scrapy's settings never load pyarrow.
HERALD_COMPACT_GRACE_SECONDS = 600.0
HERALD_LOCK_WAIT = 0.0
HERALD_SOFTBLOCK_LIMIT = 10
HERALD_BACKOFF_BASE = 2.0
HERALD_BACKOFF_MAX = 60.0
HERALD_RETRY_AFTER_MAX = 300.0
HERALD_MAX_TITLE_CHARS = 500
HERALD_MAX_BODY_CHARS = 1_000_000
HERALD_LINK_BATCH_ROWS = 50_000
HERALD_BACKFILL_QUEUE = 100
HERALD_MAX_FAILED_SHARE = 0.2
HERALD_COVERAGE_DROP = 0.2
HERALD_MAX_DROPPED_SHARE = 0.2
HERALD_MONITOR_RUNS = 5
HERALD_PROGRESS_INTERVAL = 60.0
HERALD_GC_FREEZE = True
HERALD_REDIS_URL = ""
HERALD_REDIS_KEY = ""
HERALD_REDIS_IDLE_SECONDS = 30.0
HERALD_REDIS_LEASE_SECONDS = 15.0

# --- politeness (live site) -------------------------------------------------------------
USER_AGENT = "herald_spider/0.1 (+https://github.com/herald-spider/herald_spider; research crawler)"
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# The outputs of one callback (a few requests and one article) go through synchronous
# pipelines: nothing to overlap. Scrapy starts one asyncio task per allowed concurrent item
# for every response (CONCURRENT_ITEMS is per response; 100 by default), which cost a
# replayed crawl about a fifth of its CPU time.
CONCURRENT_ITEMS = 1
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# No control port on a crawler that runs for days.
REMOTE_CONTROL_ENABLED = False
DOWNLOAD_TIMEOUT = 30
# No article page is near this; a larger answer is not an article (Scrapy's default is 1 GB).
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 3
# A redirect chain this long is a loop, not a moved page.
REDIRECT_MAX_TIMES = 5
REFERER_ENABLED = True

# --- components -------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Just before the download: no URL off the site, however it was reached (redirects too).
    "herald_spider.downloadermiddlewares.onsite.StayOnSiteMiddleware": 940,
    # Responses pass these in descending order: encoding first, then challenge pages, then
    # the back-off wait, then Scrapy's RetryMiddleware (550) retries.
    "herald_spider.downloadermiddlewares.encoding.EncodingRepairMiddleware": 930,
    "herald_spider.downloadermiddlewares.softblock.SoftBlockMiddleware": 920,
    "herald_spider.downloadermiddlewares.backoff.BackoffMiddleware": 560,
    # Before RedirectMiddleware (600) sees the response: redirected articles are fetched.
    "herald_spider.downloadermiddlewares.redirects.ArticleRedirectMiddleware": 610,
    # Last before the download handler: robots.txt, retries, redirects and stats all see
    # replayed responses as they would see downloaded ones.
    "herald_spider.replay.ReplayMiddleware": 950,
    # Next to the download handler: responses as received, before decompression, redirects
    # and retries (off unless HERALD_WARC_DIR is set; replayed responses are not recorded).
    "herald_spider.downloadermiddlewares.warcrecord.WarcRecordMiddleware": 945,
}
SPIDER_MIDDLEWARES = {
    # Output passes the higher numbers first: record every link, mark refreshes, then skip
    # stored articles that are not refreshed.
    "herald_spider.spidermiddlewares.links.LinkRecorderMiddleware": 700,
    "herald_spider.spidermiddlewares.refresh.RefreshMiddleware": 650,
    "herald_spider.spidermiddlewares.skipknown.SkipKnownArticlesMiddleware": 600,
}
EXTENSIONS = {
    # Objects alive when the spider opens skip the collector's full collections.
    "herald_spider.gcfreeze.FreezeStartupObjects": 5,
    "herald_spider.extensions.dataset.DatasetExtension": 0,
    "herald_spider.extensions.runs.RunRecorder": 10,
    "herald_spider.extensions.progress.BackfillProgress": 20,
    "herald_spider.extensions.frontier.FrontierJournal": 500,
}
# A crawl shared through Redis (HERALD_REDIS_URL) takes its requests from scrapy-redis's
# scheduler, ends its leases, beats, and keeps one request budget for its live requests: the
# add-on puts those components in when the setting is there (herald_spider/addons/shared.py).
ADDONS = {"herald_spider.addons.shared.SharedFrontierAddon": 0}
ITEM_PIPELINES = {
    "herald_spider.pipelines.validate.ValidatePipeline": 100,
    "herald_spider.pipelines.plausible.PlausibilityPipeline": 150,
    "herald_spider.pipelines.dedup.DeduplicatePipeline": 200,
    "herald_spider.pipelines.revisions.RevisionPipeline": 250,
    "herald_spider.pipelines.parquet.ParquetWriterPipeline": 300,
}
REQUEST_FINGERPRINTER_CLASS = "herald_spider.fingerprint.ArticleRequestFingerprinter"

# Breadth-first: section pages and the newest articles come before deep related chains.
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

LOG_LEVEL = "INFO"
# Dropped items are logged by URL and reason, not whole (a 5 MB body made a 5 MB line).
LOG_FORMATTER = "herald_spider.logformatter.HeraldLogFormatter"
LOGSTATS_INTERVAL = 60.0
FEED_EXPORT_ENCODING = "utf-8"
# Feeds (-O items.jsonl) write every timestamp as ISO 8601 UTC with Z, as `herald-dataset
# export` does, and CSV cells nested values as JSON: Scrapy's exporters with those changes
# (herald_spider/exporters.py).
FEED_EXPORTERS = {
    "json": "herald_spider.exporters.JsonItemExporter",
    "jsonlines": "herald_spider.exporters.JsonLinesItemExporter",
    "jsonl": "herald_spider.exporters.JsonLinesItemExporter",
    "jl": "herald_spider.exporters.JsonLinesItemExporter",
    "csv": "herald_spider.exporters.CsvItemExporter",
    "xml": "herald_spider.exporters.XmlItemExporter",
    "marshal": "herald_spider.exporters.MarshalItemExporter",
}
# `scrapy check`: the contracts in the spiders' callback docstrings. Scrapy's @scrapes passes for
# a field that is None (every field of the Article dataclass is always there); ours wants a value.
SPIDER_CONTRACTS = {
    "scrapy.contracts.default.ScrapesContract": None,
    "herald_spider.contracts.ScrapesContract": 3,
}
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
