"""Add-on: a crawl with ``HERALD_REDIS_URL`` takes its requests from the shared frontier, and
(live) sends them within the request budget its processes share."""

from __future__ import annotations

from scrapy.settings import BaseSettings


class SharedFrontierAddon:
    """When ``HERALD_REDIS_URL`` is set: the shared scheduler, the extension that beats, takes
    back dead processes' requests and stops the crawl when it has run out, the spider middleware
    that ends leases (last to see a callback's output, so everything it yielded is scheduled or
    stored when a lease ends), and for a live crawl the rate-limited HTTP(S) download handler.
    Nothing otherwise."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("HERALD_REDIS_URL") or not settings.getbool("HERALD_WRITE_DATASET"):
            return
        settings.set("SCHEDULER", "herald_spider.schedulers.shared.SharedScheduler", priority="addon")
        settings["EXTENSIONS"]["herald_spider.extensions.shared.SharedCrawlExtension"] = 510
        settings["SPIDER_MIDDLEWARES"]["herald_spider.spidermiddlewares.leases.LeaseMiddleware"] = 5
        if not settings.get("HERALD_REPLAY"):
            handler = "herald_spider.downloadhandlers.shared.SharedRateLimitHandler"
            settings.set("DOWNLOAD_HANDLERS", {"http": handler, "https": handler}, priority="addon")
