"""Scrapy commands of the project (``COMMANDS_MODULE``): ``crawl`` with exit codes that say
how the crawl went."""
