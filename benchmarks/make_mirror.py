"""Build a replay mirror of N World articles from the project's fixture pages.

``python -m benchmarks.make_mirror 20000 /tmp/mirror-20000``

Each synthetic article is a fixture article page (both markups, premium or not, with or
without JSON-LD and Fusion) with a new ID and slug, another year, other byline names and
another headline word, written in the same ``wget -x`` layout. The link graph is that of an
archive: section pages list only the newest ~30 articles; every other article is reachable
only through the related / latest-from / discover-more links of other articles, each of
which points at the next two articles, at two of the newest ones and at a few others a
little further on, so the crawl goes thousands of hops deep.

``python -m benchmarks.make_mirror --sitemaps 20000 /tmp/backfill-20000`` builds a *backfill
mirror* of the same articles instead, one that a crawl can only read in full through the
site's sitemaps (the shapes of ``shared/nzherald/site-feeds``): section pages still list the
newest ~30, but every article's links point only at those newest ~30, so a link-only crawl
reaches about 30. ``robots.txt`` names the sitemap index and the news sitemap; the index
lists one by-day sitemap per day, newest first, going back one day at a time from
2025-06-18 (``sitemap/`` for days 0-1, ``sitemap2/`` for days 2-6, ``sitemap3/`` older);
each by-day sitemap lists ~35 World articles of the mirror mixed with ~190 stories of other
sections that are not in the mirror (a request for one answers 404); the news sitemap
lists the newest 20 articles.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from xml.sax.saxutils import escape

from herald_spider import urls

PROJECT = Path(__file__).resolve().parents[1]
FIXTURE = PROJECT / "tests" / "fixtures" / "site"
HOST_DIR = urls.HOST
NEWEST = 30
SUBSECTIONS = ("australia", "asia", "uk", "united-states", "middle-east", "europe", "pacific")

#: An article path on the site (with or without scheme and host in front of it).
_ARTICLE_PATH = re.compile(r"/world/(?:[a-z0-9-]+/)+(?:premium/)?[A-Z0-9]{26}")
_YEAR = re.compile(r"(?<![0-9A-Za-z])(20[12][0-9])(?![0-9])")
_STORY_LIST = re.compile(r'<section[^>]*data-test-ui="story-list"[^>]*>')

# Backfill mirror (``build(..., sitemaps=True)``): the site's Arc XP outbound feeds.
FEEDS = f"{urls.SITE_ROOT}arc/outboundfeeds/"
FEED_QUERY = "?outputType=xml&_website=nzh"
SITEMAP_INDEX_URL = f"{FEEDS}sitemap-index/{FEED_QUERY}"
NEWS_SITEMAP_URL = f"{FEEDS}sitemap-news/{FEED_QUERY}"
#: the newest by-day sitemap's day; each older one is a day earlier
FIRST_DAY = date(2025, 6, 18)
#: World articles of the mirror in each by-day sitemap
PER_DAY = 35
#: stories of other sections (not in the mirror) in each by-day sitemap
FOREIGN_PER_DAY = 190
FOREIGN_SECTIONS = ("nz", "nz/politics", "sport/rugby", "business", "business/markets")
#: articles in the news sitemap
NEWS = 20
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_OG_TITLE = re.compile(r'<meta property="og:title" content="([^"]*)"')
_TITLE = re.compile(r"<title>([^<]*?)(?: - NZ Herald)?\s*</title>")

WORDS = [
    "harbour",
    "tariff",
    "summit",
    "drought",
    "ceasefire",
    "election",
    "glacier",
    "pipeline",
    "verdict",
    "cyclone",
    "reactor",
    "treaty",
    "protest",
    "airline",
    "vaccine",
    "border",
    "budget",
    "merger",
    "wildfire",
    "satellite",
    "strike",
    "refinery",
    "canal",
    "senate",
    "monsoon",
]
NAMES = (
    "Aroha Ngata",
    "Liam O'Connor",
    "Mere Tūhoe",
    "Hannah Schmidt",
    "Rajesh Patel",
    "Sione Taufa",
    "Claire Dubois",
    "Kenji Watanabe",
    "Fatima Al-Sayed",
    "Tom Brennan",
)


@dataclass(frozen=True)
class Template:
    path: str  # /world/.../<ID>
    article_id: str
    text: str
    title_word: str
    authors: tuple[str, ...]


@dataclass(frozen=True)
class Synthetic:
    index: int
    template: Template
    article_id: str
    path: str


def new_id(index: int) -> str:
    """A 26-character [A-Z2-7] ID, the same for the same index in every run.

    >>> new_id(0), len(new_id(1))
    ('AT7Y4BXPJNS7KFQDNOI43H6QU7', 26)
    """
    digest = hashlib.sha256(f"herald-bench:{index}".encode()).digest()
    return base64.b32encode(digest).decode()[:26]


def load_templates() -> list[Template]:
    templates = []
    for line in (FIXTURE / "expected" / "articles.jsonl").read_text().splitlines():
        expected = json.loads(line)
        path = "/" + expected["url"].removeprefix(urls.SITE_ROOT).rstrip("/")
        text = (FIXTURE / HOST_DIR / path.strip("/") / "index.html").read_text(encoding="utf-8")
        words = [w for w in re.findall(r"[A-Za-z]{5,}", expected["title"]) if w in text]
        templates.append(
            Template(
                path=path,
                article_id=expected["article_id"],
                text=text,
                title_word=max(words, key=len) if words else "",
                authors=tuple(expected["authors"]),
            )
        )
    return templates


def plan(templates: list[Template], count: int) -> list[Synthetic]:
    articles = []
    for index in range(count):
        template = templates[index % len(templates)]
        *head, slug, last = template.path.strip("/").split("/")
        if slug == "premium":
            *head, slug = head
            last = f"premium/{last}"
        article_id = new_id(index)
        last = last.replace(template.article_id, article_id)
        path = "/" + "/".join([*head, f"{slug}-{WORDS[index % len(WORDS)]}-{index}", last])
        articles.append(Synthetic(index, template, article_id, path))
    return articles


def _link_targets(article: Synthetic, count: int, rng: random.Random, newest_only: bool = False) -> list[int]:
    """Whom an article's link slots point at: the next two, two of the newest, then nearby;
    with ``newest_only``, sixteen of the newest (a backfill mirror)."""
    if newest_only:
        return [rng.randrange(min(NEWEST, count)) for _ in range(16)]
    i = article.index
    forward = [i + 1, i + 2]
    newest = [rng.randrange(NEWEST), rng.randrange(NEWEST)]
    nearby = [i + rng.randint(3, 60) for _ in range(12)]
    return [t if t < count else rng.randrange(count) for t in forward + newest + nearby]


def _retarget(text: str, mapping: dict[str, Synthetic]) -> str:
    def replace(match: re.Match[str]) -> str:
        found = urls.article_id(urls.SITE_ROOT + match.group(0).lstrip("/"))
        target = mapping.get(found) if found else None
        return target.path if target else match.group(0)

    text = _ARTICLE_PATH.sub(replace, text)
    for old_id, target in mapping.items():
        text = text.replace(old_id, target.article_id)
    return text


def render_article(
    article: Synthetic, articles: list[Synthetic], rng: random.Random, newest_only: bool = False
) -> str:
    template = article.template
    foreign = []
    for match in _ARTICLE_PATH.finditer(template.text):
        found = urls.article_id(urls.SITE_ROOT + match.group(0).lstrip("/"))
        if found and found != template.article_id and found not in foreign:
            foreign.append(found)
    targets = _link_targets(article, len(articles), rng, newest_only)
    mapping = {old: articles[targets[n % len(targets)]] for n, old in enumerate(foreign)}
    mapping[template.article_id] = article
    # Vary the text first, then point every article path at its target (slugs included).
    text = template.text
    shift = article.index % 4
    text = _YEAR.sub(lambda m: str(int(m.group(1)) - shift), text)
    for n, name in enumerate(template.authors):
        text = text.replace(name, NAMES[(article.index + 3 * n) % len(NAMES)])
    if template.title_word:
        word = WORDS[(article.index * 7) % len(WORDS)]
        word = word.capitalize() if template.title_word[0].isupper() else word
        text = text.replace(template.title_word, word)
    return _retarget(text, mapping)


def render_section(path: str, articles: list[Synthetic], rng: random.Random, extra: int) -> str:
    """A section page whose cards name only the newest articles."""
    text = (FIXTURE / HOST_DIR / path / "index.html").read_text(encoding="utf-8")
    newest = articles[: min(NEWEST, len(articles))]
    found = []
    for match in _ARTICLE_PATH.finditer(text):
        article_id = urls.article_id(urls.SITE_ROOT + match.group(0).lstrip("/"))
        if article_id and article_id not in found:
            found.append(article_id)
    text = _retarget(text, {old: newest[rng.randrange(len(newest))] for old in found})
    cards = "".join(
        f'<article class="bg-white flex flex-col"><h3><a href="{a.path}/">Story {a.index}</a></h3></article>'
        for a in newest[:extra]
    )
    return _STORY_LIST.sub(lambda m: m.group(0) + cards, text, count=1)


def build(count: int, out: Path, seed: int = 4, sitemaps: bool = False) -> None:
    """Write a mirror of ``count`` articles to ``out`` (replaced if it exists); with
    ``sitemaps``, a backfill mirror (see the module's docstring)."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    host = out / HOST_DIR
    host.mkdir(parents=True)
    shutil.copy(FIXTURE / HOST_DIR / "robots.txt", host / "robots.txt")
    articles = plan(load_templates(), count)
    sections = ["world", *(f"world/{sub}" for sub in SUBSECTIONS)]
    for path in sections:
        page = render_section(path, articles, rng, extra=NEWEST if path == "world" else 0)
        (host / path).mkdir(parents=True, exist_ok=True)
        (host / path / "index.html").write_text(page, encoding="utf-8")
    titles = {}
    for article in articles:
        target = host / article.path.strip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = render_article(article, articles, rng, newest_only=sitemaps)
        target.write_text(text, encoding="utf-8")
        if sitemaps and article.index < NEWS:
            titles[article.index] = headline(text, article)
    if sitemaps:
        write_feeds(out, articles, titles, random.Random(seed + 1))


# --- backfill mirror: robots.txt, sitemap index, by-day sitemaps, news sitemap -------------


def article_url(article: Synthetic) -> str:
    return urls.SITE_ROOT + article.path.strip("/") + "/"


def headline(text: str, article: Synthetic) -> str:
    """An article page's headline (its og:title or title), for the news sitemap."""
    found = _OG_TITLE.search(text) or _TITLE.search(text)
    return unescape(found.group(1)).strip() if found else f"Story {article.index}"


def sitemap_folder(day: int) -> str:
    """Where the site keeps the by-day sitemap of ``day`` days ago.

    >>> [sitemap_folder(day) for day in (0, 1, 2, 6, 7, 400)]
    ['sitemap', 'sitemap', 'sitemap2', 'sitemap2', 'sitemap3', 'sitemap3']
    """
    return "sitemap" if day < 2 else "sitemap2" if day < 7 else "sitemap3"


def day_sitemap_url(day: int) -> str:
    """The by-day sitemap of ``day`` days before :data:`FIRST_DAY`.

    >>> day_sitemap_url(8)
    'https://www.nzherald.co.nz/arc/outboundfeeds/sitemap3/2025-06-10/?outputType=xml&_website=nzh'
    """
    return f"{FEEDS}{sitemap_folder(day)}/{FIRST_DAY - timedelta(days=day)}/{FEED_QUERY}"


def feed_file(out: Path, url: str) -> Path:
    """The file of a feed URL in the mirror (as ``herald_spider.replay.mirror_path`` finds it)."""
    path, _, query = url.removeprefix("https://").partition("?")
    return out.joinpath(*path.strip("/").split("/"), f"index.html?{query}")


def days_of(articles: list[Synthetic]) -> list[list[Synthetic]]:
    """The articles of each by-day sitemap, newest day first (:data:`PER_DAY` a day)."""
    return [articles[start : start + PER_DAY] for start in range(0, len(articles), PER_DAY)]


def foreign_urls(day: int, count: int) -> list[str]:
    """Stories of other sections listed in a by-day sitemap, absent from the mirror."""
    found = []
    for n in range(count):
        digest = hashlib.sha256(f"herald-bench-foreign:{day}:{n}".encode()).digest()
        story_id = base64.b32encode(digest).decode()[:26]
        section = FOREIGN_SECTIONS[(day + n) % len(FOREIGN_SECTIONS)]
        words = (WORDS[(day * 3 + n) % len(WORDS)], WORDS[(day + n * 7) % len(WORDS)])
        found.append(f"{urls.SITE_ROOT}{section}/{words[0]}-{words[1]}-{day}-{n}/{story_id}/")
    return found


def _stamps(day: date, count: int, rng: random.Random) -> list[str]:
    """``count`` lastmod times on ``day``, newest first, to the minute as the site writes them."""
    minutes = sorted((rng.randrange(24 * 60) for _ in range(count)), reverse=True)
    return [f"{day}T{m // 60:02d}:{m % 60:02d}:00.000Z" for m in minutes]


def render_day_sitemap(day: int, world: list[Synthetic], rng: random.Random, lastmod: dict[str, str]) -> str:
    """A by-day ``<urlset>``: that day's World articles mixed with other sections' stories,
    newest first; the lastmod of each URL goes into ``lastmod`` too."""
    entries = [article_url(a) for a in world] + foreign_urls(day, FOREIGN_PER_DAY)
    rng.shuffle(entries)
    stamps = _stamps(FIRST_DAY - timedelta(days=day), len(entries), rng)
    lastmod.update(zip(entries, stamps, strict=True))
    lines = [
        f"<url><loc>{escape(url)}</loc><lastmod>{stamp}</lastmod></url>"
        for url, stamp in zip(entries, stamps, strict=True)
    ]
    return _xml(f'<urlset xmlns="{SITEMAP_NS}">', lines, "</urlset>")


def render_sitemap_index(days: int) -> str:
    lines = [f"<sitemap><loc>{escape(day_sitemap_url(day))}</loc></sitemap>" for day in range(days)]
    return _xml(f'<sitemapindex xmlns="{SITEMAP_NS}">', lines, "</sitemapindex>")


def render_news_sitemap(newest: list[Synthetic], titles: dict[int, str], lastmod: dict[str, str]) -> str:
    """The Google News sitemap: the newest articles, newest first, with their by-day lastmod
    as publication date (the site gives the last update there)."""
    lines = []
    for article in sorted(newest, key=lambda a: lastmod[article_url(a)], reverse=True):
        url, stamp = article_url(article), lastmod[article_url(article)]
        news = (
            "<news:news><news:publication><news:name>NZ Herald</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{stamp}</news:publication_date>"
            f"<news:title>{escape(titles.get(article.index, f'Story {article.index}'))}</news:title>"
            "</news:news>"
        )
        lines.append(f"<url><loc>{escape(url)}</loc><lastmod>{stamp}</lastmod>{news}</url>")
    return _xml(f'<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">', lines, "</urlset>")


def _xml(opening: str, lines: list[str], closing: str) -> str:
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', opening, *lines, closing, ""])


def write_robots(out: Path) -> None:
    """The fixture's robots.txt, with the two ``Sitemap:`` lines (added if it lacks them)."""
    path = out / HOST_DIR / "robots.txt"
    text = path.read_text(encoding="utf-8")
    missing = [
        f"Sitemap: {url}\n" for url in (SITEMAP_INDEX_URL, NEWS_SITEMAP_URL) if f"Sitemap: {url}" not in text
    ]
    if missing:
        path.write_text(text.rstrip("\n") + "\n\n" + "".join(missing), encoding="utf-8")


def write_feeds(out: Path, articles: list[Synthetic], titles: dict[int, str], rng: random.Random) -> None:
    write_robots(out)
    days = days_of(articles)
    feeds = {SITEMAP_INDEX_URL: render_sitemap_index(len(days))}
    lastmod: dict[str, str] = {}
    for day, world in enumerate(days):
        feeds[day_sitemap_url(day)] = render_day_sitemap(day, world, rng, lastmod)
    feeds[NEWS_SITEMAP_URL] = render_news_sitemap(articles[:NEWS], titles, lastmod)
    for url, text in feeds.items():
        path = feed_file(out, url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--sitemaps",
        action="store_true",
        help="a backfill mirror: most articles reachable only through the sitemaps",
    )
    args = parser.parse_args()
    build(args.articles, args.out, args.seed, sitemaps=args.sitemaps)
    kind = " (backfill mirror)" if args.sitemaps else ""
    print(f"{args.articles} articles in {args.out}{kind}")


if __name__ == "__main__":
    main()
