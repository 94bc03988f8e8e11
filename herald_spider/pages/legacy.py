"""Links to pre-2020 ``article.cfm?objectid=`` URLs, which the site redirects to the article.

Pure, over the hrefs a page object found (:meth:`herald_spider.pages.page.Page.legacy_links`).
The spider requests these links; the redirect lands on the article's current URL, where it is
stored under that URL's article ID like any other article.
"""

from __future__ import annotations

from urllib.parse import urljoin

from herald_spider import urls


def legacy_article_links(hrefs: list[str], base_url: str) -> list[tuple[str, str]]:
    """``(url, object ID)`` of each legacy article link among the ``article.cfm`` hrefs of a
    page at ``base_url``, first occurrence of each ID.

    >>> hrefs = ["/nz/news/article.cfm?c_id=1&objectid=12345678", "https://evil.example/news/article.cfm?objectid=1234567"]
    >>> legacy_article_links(hrefs, "https://www.nzherald.co.nz/world/")
    [('https://www.nzherald.co.nz/nz/news/article.cfm?c_id=1&objectid=12345678', '12345678')]
    """
    found: dict[str, str] = {}
    for href in hrefs:
        url = urljoin(base_url, href.strip())
        object_id = urls.legacy_object_id(url)
        if object_id and object_id not in found:
            found[object_id] = url
    return [(url, object_id) for object_id, url in found.items()]
