"""Every selector the project uses, by page part and by markup era (STRUCTURE.md §2, §5).

When the site changes, this file changes. Each tuple is tried in order; the first era
listed is the newest known markup.
"""

from __future__ import annotations

# --- <head> ---------------------------------------------------------------------------
JSON_LD = 'script[type="application/ld+json"]::text'
#: the same two lookups as attribute values, for the single pass over a page's scripts
JSON_LD_TYPE = "application/ld+json"
FUSION_SCRIPT_ID = "fusion-metadata"
FUSION_SCRIPT = "script#fusion-metadata::text"
FUSION_SCRIPT_ANY = "script::text"
CANONICAL = 'link[rel="canonical"]::attr(href)'
OG_URL = 'meta[property="og:url"]::attr(content)'
OG_TITLE = 'meta[property="og:title"]::attr(content)'
OG_DESCRIPTION = 'meta[property="og:description"]::attr(content)'
OG_IMAGE = 'meta[property="og:image"]::attr(content)'
META_DESCRIPTION = 'meta[name="description"]::attr(content)'
META_TAGS = 'meta[property="article:tag"]::attr(content)'
META_SECTION = 'meta[property="article:section"]::attr(content)'
META_PUBLISHED = 'meta[property="article:published_time"]::attr(content)'
META_MODIFIED = 'meta[property="article:modified_time"]::attr(content)'
META_AUTHOR = 'meta[name="author"]::attr(content), meta[property="article:author"]::attr(content)'
HTML_TITLE = "title::text"

# --- article header -------------------------------------------------------------------
HEADER = "header.article__header, [data-test-ui=article__header]"
HEADLINE = (
    'h1[data-test-ui="article__heading"]',  # 2022 and 2025+
    'h1[data-test-ui="viva-article__heading"]',  # 2026 Viva
    "h1.article__heading",
    "article h1",
)
KICKER_HREF = 'a[data-test-ui="article__kicker"]::attr(href), a.article__kicker::attr(href)'
SUBKICKER_HREF = 'a[data-test-ui="article__subkicker"]::attr(href), a.article__subkicker::attr(href)'
BREADCRUMB_HREFS = 'nav[data-test-ui="breadcrumbs"] a::attr(href), nav.breadcrumbs a::attr(href)'

# premium markers inside the article header (never cards, menus or share pop-ups)
PREMIUM_HEADER = (
    "header.article__header-premium",
    '[data-test-ui="article__premium-label"]',
    ".article__premium-label",
)
#: article-level paywall furniture, present only on premium pages (STRUCTURE.md §2.8)
PREMIUM_PAGE = (
    '[data-test-ui="premium-toaster"]',
    "#premium-toaster",
    ".audio-player--locked",
)
PREMIUM_REMINDER = ".social-popup__reminder ::text"
PREMIUM_URL_SEGMENT = "/premium/"

# --- byline ---------------------------------------------------------------------------
BYLINE_BLOCK = (
    '[data-test-ui="author--text--body"]',  # 2026
    '[data-test-ui="author--information"]',
    '[data-test-ui="author"]',  # 2022
    "div.author",
)
BYLINE_NAMES_TEXT = (
    "div.author__names",  # 2026: "By" + names
    '[data-test-ui="author__name"]',  # 2022: "By" + h5
    "div.author__name",
)
BYLINE_PERSON = (
    '[data-test-ui="author--link"]',
    '[data-test-ui="author--name"]',
    '[data-test-ui="author__name__link"]',
    "a.author__link",
)
BYLINE_DISTRIBUTOR = '[data-test-ui="distributor--name"]::text, .author__distributor::text'
BYLINE_TIME = (
    'time[data-test-ui="author-display--date"]',  # 2026
    'time[data-test-ui="meta-data__time-stamp"]',  # 2022
    "time.meta-data__time-stamp",
)
READ_TIME = '[data-test-ui="author-read-time"]::text, [data-test-ui="meta-data__read-time"]::text'
CREDITS = (
    '[data-test-ui="article__credits"] p::text',
    ".article__credits p::text",
)

# --- body -----------------------------------------------------------------------------
BODY_SECTIONS = (
    'section[data-test-ui="article-top-body"]',  # 2024+
    'section[data-test-ui="article-bottom-body"]',
    'section[data-test-ui="article__body"]',  # 2022, some later
    "section.article__body",  # 2026: every such section
    "section.article-viva__body",  # 2026 Viva
    "div.article__raw-html",
)
BODY_FALLBACK = ("div.article__content", "#article-content")
#: blocks inside a body whose paragraphs are not body text
BODY_NOISE = (
    "aside, figure, figcaption, nav, form, header, footer, "
    '.ad, [data-test-ui="ad"], .article__ad-wrapper, '
    '[data-test-ui="newsletter-signup"], .newsletter-signup, '
    '[data-test-ui="premium-toaster"], #premium-toaster, .premium-toaster, '
    '.share-bar, [data-test-ui="share-bar"], .article__credits, .article__action-bar'
)

# --- related blocks and story cards ---------------------------------------------------
#: Blocks of links, in precedence order (a link inside two blocks takes the first one's kind):
#: (kind, tag, data-test-ui value, a word the class may contain instead). A tag of None: the
#: block is the parent of any element with that data-test-ui value.
LINK_BLOCKS = (
    ("related", "aside", "related-articles", "related-articles"),
    ("discover-more", "aside", "discover-more", "discover-more"),
    ("latest-from", "section", "latest-from-articles__section", None),
    ("latest-from", None, "article-sidebar__section-LatestFrom", None),
    ("most-read", "section", "most-read", "most-read"),
    ("subsection", "nav", "section-header__subnav", None),
    ("section-card", "section", "story-list", None),
)
STORY_CARD = "article.story-card, article.bg-white, div.story-card__content"

# --- story card freshness (refresh=updated) -------------------------------------------
CARD_LINK = "a.story-card__heading__link, a[href]"
CARD_TIME = "time[datetime]"
CARD_UPDATED = ".label-updated, [data-test-ui='story-card__label-updated']"
# --- legacy links (pre-2020 CMS: /<section>/news/article.cfm?c_id=..&objectid=..) -------
LEGACY_ARTICLE_HREFS = 'a[href*="article.cfm"]::attr(href)'
