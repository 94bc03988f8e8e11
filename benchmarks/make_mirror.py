"""Build a replay mirror of N World articles from the project's fixture pages.

``python -m benchmarks.make_mirror 20000 /tmp/mirror-20000``

Each synthetic article is a fixture article page (both markups, premium or not, with or
without JSON-LD and Fusion) with a new ID and slug, another year, other byline names and
another headline word, written in the same ``wget -x`` layout. The link graph is that of an
archive: section pages list only the newest ~30 articles; every other article is reachable
only through the related / latest-from / discover-more links of other articles, each of
which points at the next two articles, at two of the newest ones and at a few others a
little further on, so the crawl goes thousands of hops deep.
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
from pathlib import Path

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


def _link_targets(article: Synthetic, count: int, rng: random.Random) -> list[int]:
    """Whom an article's link slots point at: the next two, two of the newest, then nearby."""
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


def render_article(article: Synthetic, articles: list[Synthetic], rng: random.Random) -> str:
    template = article.template
    foreign = []
    for match in _ARTICLE_PATH.finditer(template.text):
        found = urls.article_id(urls.SITE_ROOT + match.group(0).lstrip("/"))
        if found and found != template.article_id and found not in foreign:
            foreign.append(found)
    targets = _link_targets(article, len(articles), rng)
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


def build(count: int, out: Path, seed: int = 4) -> None:
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
    for article in articles:
        target = host / article.path.strip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_article(article, articles, rng), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    build(args.articles, args.out, args.seed)
    print(f"{args.articles} articles in {args.out}")


if __name__ == "__main__":
    main()
