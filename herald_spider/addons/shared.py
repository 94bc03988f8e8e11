"""Add-on: a crawl with ``HERALD_REDIS_URL`` takes its requests from the shared frontier, and
(live) sends them within the request budget its processes share."""

from __future__ import annotations

from scrapy.settings import BaseSettings


class SharedFrontierAddon:
    """Swap in the shared scheduler, and for a live crawl the rate-limited HTTP(S) download
    handler, when ``HERALD_REDIS_URL`` is set; nothing otherwise."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("HERALD_REDIS_URL") or not settings.getbool("HERALD_WRITE_DATASET"):
            return
        settings.set("SCHEDULER", "herald_spider.schedulers.shared.SharedScheduler", priority="addon")
        if not settings.get("HERALD_REPLAY"):
            handler = "herald_spider.downloadhandlers.shared.SharedRateLimitHandler"
            settings.set("DOWNLOAD_HANDLERS", {"http": handler, "https": handler}, priority="addon")
