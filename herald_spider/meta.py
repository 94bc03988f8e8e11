"""Request meta keys the spider and the components share."""

from __future__ import annotations

#: Request meta key holding the article ID of an article request.
ARTICLE_ID = "herald_article_id"
#: Request meta key holding the object ID of a legacy ``article.cfm?objectid=`` request.
LEGACY_ID = "herald_legacy_id"
#: Request meta key: fetch even when the article is stored (refreshing, retrying a variant).
REFETCH = "herald_refetch"
#: Request meta key: the :class:`~herald_spider.pages.cards.CardSignal` of the card the article
#: was linked from.
CARD = "herald_card"
#: Request meta key: what feed a request fetches (``sitemap-index``, ``sitemap``,
#: ``news-sitemap`` or ``rss``); see :mod:`herald_spider.pages.feeds`.
FEED = "herald_feed"
#: Request meta key: the frontier entry a request was leased under, in a crawl shared through
#: Redis (:mod:`herald_spider.shared`); its lease ends once the request is done with.
LEASE = "herald_lease"
