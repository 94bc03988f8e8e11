"""The frontier journal: what a killed crawl leaves for the next run to request, and only for
a crawl of the same spider and section."""

from __future__ import annotations

import json
from pathlib import Path

from herald_spider.extensions.frontier import Frontier
from herald_spider.store import ArticleStore

SITE = "https://www.nzherald.co.nz"
A, B, C, D = (letter * 26 for letter in "ABCD")


def store_with(tmp_path: Path, known: set[str]) -> ArticleStore:
    store = ArticleStore(tmp_path, "20260102T000000Z-bbbb")
    store._known = known  # type: ignore[assignment]
    return store


def journal(tmp_path: Path, name: str, *entries: tuple[str, str]) -> Path:
    path = tmp_path / ".frontier" / name
    path.parent.mkdir(exist_ok=True)
    lines = [json.dumps({"url": url, "article_id": article_id}) for url, article_id in entries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pending_skips_stored_other_sections_bad_and_cut_lines(tmp_path: Path) -> None:
    path = journal(
        tmp_path,
        "world@world@20260101T000000Z-aaaa.jsonl",
        (f"{SITE}/world/a-story/{A}/", A),  # stored already
        (f"{SITE}/world/b-story/{B}/", B),  # pending
        (f"{SITE}/business/c-story/{C}/", C),  # not this spider's section
        (f"https://evil.example/world/d-story/{D}/", D),  # not the site
        (f"{SITE}/world/b-story/{B}/?again=1", B),  # once is enough
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"url": "https://www.nzherald.co.nz/wor')  # cut off by a kill
    store = store_with(tmp_path, {A})
    assert list(Frontier(store, "world", "world").pending()) == [(f"{SITE}/world/b-story/{B}/", B)]
    assert list(Frontier(store, "section", "world").pending()) == []  # another spider's journals


def test_a_finished_crawl_removes_the_journals_it_resumed(tmp_path: Path) -> None:
    store = store_with(tmp_path, set())
    old = journal(tmp_path, "world@world@20260101T000000Z-aaaa.jsonl", (f"{SITE}/world/b-story/{B}/", B))
    frontier = Frontier(store, "world", "world")
    list(frontier.pending())
    frontier.record(f"{SITE}/world/b-story/{B}/", B)
    frontier.close(finished=False)
    assert old.exists() and frontier.own.exists()
    frontier.close(finished=True)
    assert not old.exists() and not frontier.own.exists()


def test_a_crawl_of_another_section_leaves_a_killed_crawls_journal(tmp_path: Path) -> None:
    """Issue 16, case 5: a finished `section=business` crawl deleted a killed `section=world`
    crawl's journal, and the world articles it listed were never fetched."""
    killed = journal(tmp_path, "section@world@20260101T000000Z-aaaa.jsonl", (f"{SITE}/world/b-story/{B}/", B))
    store = store_with(tmp_path, set())
    business = Frontier(store, "section", "business")
    assert list(business.pending()) == []
    business.record(f"{SITE}/business/c-story/{C}/", C)
    business.close(finished=True)
    assert killed.exists()
    assert not business.own.exists()
    world = Frontier(ArticleStore(tmp_path, "20260103T000000Z-cccc"), "section", "world")
    world.store._known = set()  # type: ignore[assignment]
    assert list(world.pending()) == [(f"{SITE}/world/b-story/{B}/", B)]
    # a sub-section is a section of its own: world/europe's journal is not world's
    europe = Frontier(store, "section", "world/europe")
    assert europe.own.name.startswith("section@world+europe@")
    assert list(europe.pending()) == []


def test_a_journal_of_an_older_release_goes_only_when_all_it_lists_is_stored(tmp_path: Path) -> None:
    old = journal(
        tmp_path,
        "section-20260101T000000Z-aaaa.jsonl",
        (f"{SITE}/world/b-story/{B}/", B),
        (f"{SITE}/business/c-story/{C}/", C),
    )
    store = store_with(tmp_path, set())
    business = Frontier(store, "section", "business")
    assert list(business.pending()) == [(f"{SITE}/business/c-story/{C}/", C)]
    store.add(C)
    business.close(finished=True)
    assert old.exists(), "it still lists a world article nobody stored"
    world = Frontier(store, "section", "world")
    assert list(world.pending()) == [(f"{SITE}/world/b-story/{B}/", B)]
    store.add(B)
    world.close(finished=True)
    assert not old.exists()
