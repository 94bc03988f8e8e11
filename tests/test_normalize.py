"""Parametrized normaliser tables (the doctests hold the simplest cases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from herald_spider.pages.dates import (
    parse_card_datetime,
    parse_datetime,
    parse_display_datetime,
    parse_iso_datetime,
)
from herald_spider.pages.images import image_key, original_url, resized_size
from herald_spider.pages.normalize import (
    byline_distributor,
    caption_credit,
    clean_credit,
    clean_title,
    language_tag,
    normalize_distributor,
    parse_bool,
    parse_dimension,
    split_byline,
    split_keywords,
)

UTC = UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Plain headline", "Plain headline"),
        ("Headline - NZ Herald", "Headline"),
        ("Headline | NZ Herald", "Headline"),
        ("Fires &amp; floods", "Fires & floods"),
        ("Fires &amp;amp; floods", "Fires & floods"),
        ("Se&aacute;n O&#x27;Neill: strikes", "Seán O'Neill: strikes"),
        ("  Ragged\n\t headline  ", "Ragged headline"),
        ("Trump’s base – in uproar", "Trump’s base – in uproar"),
        ("Watch: Drone footage", "Watch: Drone footage"),
        ("NZ Herald staff win award", "NZ Herald staff win award"),
        ("", None),
        (None, None),
    ],
)
def test_clean_title(raw: str | None, expected: str | None) -> None:
    assert clean_title(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("By Jane Doe", ["Jane Doe"]),
        ("By Lachlan Moore and Priya Raman", ["Lachlan Moore", "Priya Raman"]),
        (
            "By Ingrid Halvorsen, Tomás Delgado and Amara Osei",
            ["Ingrid Halvorsen", "Tomás Delgado", "Amara Osei"],
        ),
        (
            "By Ingrid Halvorsen, Tomás Delgado, and Amara Osei",
            ["Ingrid Halvorsen", "Tomás Delgado", "Amara Osei"],
        ),
        ("Hollis Grant & Mei-Ling Park", ["Hollis Grant", "Mei-Ling Park"]),
        ("By Seán O'Neill", ["Seán O'Neill"]),
        ("By Seán O’Neill", ["Seán O’Neill"]),
        ("By Kahurangi Tāwhiri", ["Kahurangi Tāwhiri"]),
        ("By Jane Doe, AP", ["Jane Doe"]),
        ("AP", []),
        ("By Reuters", []),
        (
            "Written by: Mara Ellison, Tobias Okafor, Dana Kessler",
            ["Mara Ellison", "Tobias Okafor", "Dana Kessler"],
        ),
        ("By Jane Doe and Jane Doe", ["Jane Doe"]),
        ("", []),
        (None, []),
    ],
)
def test_split_byline(raw: str | None, expected: list[str]) -> None:
    assert split_byline(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("By Jane Doe, AP", "AP"),
        ("Associated Press", "AP"),
        ("By Sam Lee, The New York Times", "New York Times"),
        ("By Jane Doe", None),
    ],
)
def test_byline_distributor(raw: str, expected: str | None) -> None:
    assert byline_distributor(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("New York Times", "New York Times"),
        ("THE NEW YORK TIMES", "New York Times"),
        ("Reuters.", "Reuters"),
        ("NZ Herald", "NZ Herald"),
        ("Agence France-Presse", "AFP"),
    ],
)
def test_normalize_distributor(raw: str, expected: str) -> None:
    assert normalize_distributor(raw) == expected


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # ISO values as given, converted to UTC, cut to seconds
        ("2022-01-13T20:32:00Z", _utc(2022, 1, 13, 20, 32)),
        ("2024-12-21T09:15:27.004Z", _utc(2024, 12, 21, 9, 15, 27)),
        ("2024-12-21T09:15:27.999999999Z", _utc(2024, 12, 21, 9, 15, 27)),
        ("2024-12-21T22:15:27+13:00", _utc(2024, 12, 21, 9, 15, 27)),
        ("2024-12-21T22:15:27+1300", _utc(2024, 12, 21, 9, 15, 27)),
        # NZ daylight saving ends 2024-04-07 03:00 NZDT: UTC has no gap or fold
        ("2024-04-06T13:45:00Z", _utc(2024, 4, 6, 13, 45)),
        ("2024-04-07T02:30:00+13:00", _utc(2024, 4, 6, 13, 30)),
        ("2024-04-07T02:30:00+12:00", _utc(2024, 4, 6, 14, 30)),
        # NZ daylight saving starts 2023-09-24 02:00 NZST
        ("2023-09-23T14:30:00Z", _utc(2023, 9, 23, 14, 30)),
        # New Year: a UTC evening is already the next year in New Zealand
        ("2023-12-31T11:05:00Z", _utc(2023, 12, 31, 11, 5)),
        ("2024-01-01T00:05:00+13:00", _utc(2023, 12, 31, 11, 5)),
        # displayed text is UTC
        ("13 Jan, 2022 08:32 PM", _utc(2022, 1, 13, 20, 32)),
        ("31 Dec, 2023 11:05 AM", _utc(2023, 12, 31, 11, 5)),
        ("01 Jan, 2022 12:00 AM", _utc(2022, 1, 1, 0, 0)),
        ("01 Jan, 2022 12:00 PM", _utc(2022, 1, 1, 12, 0)),
        ("06 Apr, 2024 01:45 PM", _utc(2024, 4, 6, 13, 45)),
        ("29 Feb, 2024 10:00 AM", _utc(2024, 2, 29, 10, 0)),
        ("29 Feb, 2023 10:00 AM", None),
        ("13 Jan, 2022 13:32 PM", None),
        ("2022-13-01T00:00:00Z", None),
        ("last Tuesday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_datetime(raw: str | None, expected: datetime | None) -> None:
    assert parse_datetime(raw) == expected
    if expected is not None:
        assert parse_datetime(raw).tzinfo == UTC  # type: ignore[union-attr]


def test_display_and_iso_parsers_do_not_overlap() -> None:
    assert parse_iso_datetime("13 Jan, 2022 08:32 PM") is None
    assert parse_display_datetime("2022-01-13T20:32:00Z") is None


@pytest.mark.parametrize(
    ("raw", "reference", "expected"),
    [
        ("18 Jun 08:15 PM", _utc(2025, 6, 19, 0, 40), _utc(2025, 6, 18, 20, 15)),
        # the seed page: a card from the evening before the crawl
        ("18 Jun 08:15 PM", _utc(2025, 6, 18, 21, 0), _utc(2025, 6, 18, 20, 15)),
        # New Year: a December card seen in January belongs to last year
        ("31 Dec 11:05 AM", _utc(2024, 1, 2, 9, 0), _utc(2023, 12, 31, 11, 5)),
        ("01 Jan 12:05 AM", _utc(2024, 1, 1, 0, 30), _utc(2024, 1, 1, 0, 5)),
        # never more than a day in the future
        ("20 Jun 08:15 PM", _utc(2025, 6, 19, 0, 40), _utc(2024, 6, 20, 20, 15)),
        ("19 Jun 10:00 PM", _utc(2025, 6, 19, 0, 40), _utc(2025, 6, 19, 22, 0)),
        # DST change days are ordinary UTC days
        ("06 Apr 01:45 PM", _utc(2024, 4, 7, 0, 0), _utc(2024, 4, 6, 13, 45)),
        ("29 Feb 10:00 AM", _utc(2025, 3, 1), _utc(2024, 2, 29, 10, 0)),
        ("18 Jun", _utc(2025, 6, 19), None),
        ("31 Jun 08:15 PM", _utc(2025, 6, 19), None),
    ],
)
def test_parse_card_datetime(raw: str, reference: datetime, expected: datetime | None) -> None:
    assert parse_card_datetime(raw, reference) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("False", False), ("false", False), (False, False), ("True", True), (True, True), ("", None), (0, None)],
)
def test_parse_bool(raw: object, expected: bool | None) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("en", "en"),
        ("en-NZ", "en"),
        ("en_NZ", "en"),
        ("EN-nz", "en"),
        (" mi ", "mi"),
        ("zh-Hant-TW", "zh"),
        ("haw", "haw"),
        ("und", None),
        ("English", None),
        ("en NZ", None),
        ("e", None),
        ("12", None),
        ("", None),
        (None, None),
    ],
)
def test_language_tag(raw: str | None, expected: str | None) -> None:
    assert language_tag(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Diplomats in Kyiv earlier this week. Photo / AP", "AP"),
        ("Black Ferns winger Ruby Tui in action against Australia. Photo / Photosport", "Photosport"),
        ("Coach Whitney Hansen. Video / NZ Herald / Photosport", "NZ Herald / Photosport"),
        ("Photo / Supplied", "Supplied"),
        ("A river at dusk. Photo: Getty Images.", "Getty Images"),
        ("Flood waters in Auckland. Photos / Dean Purcell", "Dean Purcell"),
        ("The map of the route. Graphic / NZ Herald", "NZ Herald"),
        ("File photo / AP", "AP"),
        ("A photo of the harbour", None),
        ("Photographers gathered at the gate.", None),
        ("", None),
        (None, None),
    ],
)
def test_caption_credit(raw: str | None, expected: str | None) -> None:
    assert caption_credit(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "© Copyright Photosport Ltd 2022 / www.photosport.nz / Photosport Ltd",
            "Photosport Ltd 2022 / www.photosport.nz / Photosport Ltd",
        ),
        ("(c) AP", "AP"),
        ("Copyright: Reuters", "Reuters"),
        ("NZ Herald", "NZ Herald"),
        ("©", None),
        (None, None),
    ],
)
def test_clean_credit(raw: str | None, expected: str | None) -> None:
    assert clean_credit(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1200, 1200),
        ("675", 675),
        (" 16 ", 16),
        (0, None),
        (-1, None),
        ("0", None),
        (2.5, None),
        ("1,200", None),
        (True, None),
        (None, None),
        (2**31, None),
        (2**31 - 1, 2**31 - 1),
    ],
)
def test_parse_dimension(raw: object, expected: int | None) -> None:
    assert parse_dimension(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a, b,,c ", ["a", "b", "c"]),
        ("Black Ferns", ["Black Ferns"]),
        ("", []),
        (None, []),
        ("Fires &amp; floods", ["Fires & floods"]),
    ],
)
def test_split_keywords(raw: str | None, expected: list[str]) -> None:
    assert split_keywords(raw) == expected


ORIGINAL = "https://cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/W45EBHYF3VDPV4CLWHZWBER2OY.jpg"


@pytest.mark.parametrize(
    ("url", "original", "size", "key"),
    [
        (ORIGINAL, ORIGINAL, (None, None), "W45EBHYF3VDPV4CLWHZWBER2OY"),
        (
            "https://www.nzherald.co.nz/resizer/Bvq5=/1200x675/filters:quality(70)/"
            "cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/W45EBHYF3VDPV4CLWHZWBER2OY.jpg",
            ORIGINAL,
            (1200, 675),
            "W45EBHYF3VDPV4CLWHZWBER2OY",
        ),
        (
            "https://www.nzherald.co.nz/resizer/-C1O=/16x9/smart/filters:quality(70)/"
            "cloudfront-ap-southeast-2.images.arcpublishing.com/nzme/W45EBHYF3VDPV4CLWHZWBER2OY.jpg",
            ORIGINAL,
            (16, 9),
            "W45EBHYF3VDPV4CLWHZWBER2OY",
        ),
        (
            "https://www.nzherald.co.nz/resizer/v2/W45EBHYF3VDPV4CLWHZWBER2OY.jpg?auth=ab12&width=576&height=613"
            "&quality=70&focal=748%2C876&smart=false",
            None,
            (576, 613),
            "W45EBHYF3VDPV4CLWHZWBER2OY",
        ),
        (
            "https://www.nzherald.co.nz/resizer/C7jm=/arc-anglerfish-syd-prod-nzme/public/W45EBHYF3VDPV4CLWHZWBER2OY.jpg",
            None,
            (None, None),
            "W45EBHYF3VDPV4CLWHZWBER2OY",
        ),
        ("https://s3.amazonaws.com/arc-authors/nzme/03dd6682.png", None, (None, None), "03dd6682.png"),
    ],
)
def test_image_urls(url: str, original: str | None, size: tuple[int | None, int | None], key: str) -> None:
    """Resizer URLs of docs/site.md §10: the embedded original (a v2 or a bucket path names
    none that can be fetched as it is), the size asked for, and the image's key."""
    assert original_url(url) == (original or url)
    assert resized_size(url) == size
    assert image_key(url) == key
