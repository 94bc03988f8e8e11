"""The frontier journal: what a killed crawl leaves for the next run to request."""

from __future__ import annotations

import json
from pathlib import Path

from herald_spider.frontier import Frontier
from herald_spider.store import ArticleStore

SITE = "https://www.nzherald.co.nz"
A, B, C, D = (letter * 26 for letter in "ABCD")


def test_pending_skips_stored_other_sections_bad_and_cut_lines(tmp_path: Path) -> None:
    journal = tmp_path / ".frontier" / "world-20260101T000000Z-aaaa.jsonl"
    journal.parent.mkdir()
    entries = [
        {"url": f"{SITE}/world/a-story/{A}/", "article_id": A},  # stored already
        {"url": f"{SITE}/world/b-story/{B}/", "article_id": B},  # pending
        {"url": f"{SITE}/business/c-story/{C}/", "article_id": C},  # not this spider's section
        {"url": f"https://evil.example/world/d-story/{D}/", "article_id": D},  # not the site
        {"url": f"{SITE}/world/b-story/{B}/?again=1", "article_id": B},  # once is enough
    ]
    lines = [json.dumps(entry) for entry in entries]
    journal.write_text("\n".join(lines) + '\n{"url": "https://www.nzherald.co.nz/wor', encoding="utf-8")
    store = ArticleStore(tmp_path, "20260102T000000Z-bbbb")
    store._known = {A}
    frontier = Frontier(store, "world")
    assert list(frontier.pending("world")) == [(f"{SITE}/world/b-story/{B}/", B)]
    assert list(Frontier(store, "section").pending("world")) == []  # another spider's journals


def test_a_finished_crawl_removes_the_journals_it_resumed(tmp_path: Path) -> None:
    store = ArticleStore(tmp_path, "20260102T000000Z-bbbb")
    store._known = set()
    old = tmp_path / ".frontier" / "world-20260101T000000Z-aaaa.jsonl"
    old.parent.mkdir()
    old.write_text(json.dumps({"url": f"{SITE}/world/b-story/{B}/", "article_id": B}) + "\n")
    frontier = Frontier(store, "world")
    list(frontier.pending("world"))
    frontier.record(f"{SITE}/world/b-story/{B}/", B)
    frontier.close(finished=False)
    assert old.exists() and frontier.own.exists()
    frontier.close(finished=True)
    assert not old.exists() and not frontier.own.exists()
