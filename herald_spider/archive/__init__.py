"""Web archives (WARC, ISO 28500): recording what a crawl downloads, and replaying archives.

No Scrapy here (as in :mod:`herald_spider.dataset`): the downloader middlewares
:mod:`herald_spider.downloadermiddlewares.warcrecord` and :mod:`herald_spider.replay` use it.
"""
