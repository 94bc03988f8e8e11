"""Links to pre-2020 ``article.cfm?objectid=`` URLs, which the site redirects to the article.

Pure, like ``extract``: tested with a plain ``HtmlResponse``. The spider requests these
links; the redirect lands on the article's current URL, where it is stored under that URL's
article ID like any other article.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import TextResponse

from herald_spider import urls
from herald_spider.pages import fastcss
from herald_spider.pages import selectors as css


def legacy_article_links(response: TextResponse) -> list[tuple[str, str]]:
    """``(url, object ID)`` of each legacy article link on the page, first occurrence of each ID.

    >>> from scrapy.http import HtmlResponse
    >>> body = (b'<a href="/nz/news/article.cfm?c_id=1&amp;objectid=12345678">x</a>'
    ...     b'<a href="https://evil.example/news/article.cfm?objectid=1234567">y</a>')
    >>> page = HtmlResponse("https://www.nzherald.co.nz/world/", body=body)
    >>> legacy_article_links(page)
    [('https://www.nzherald.co.nz/nz/news/article.cfm?c_id=1&objectid=12345678', '12345678')]
    """
    found: dict[str, str] = {}
    for href in fastcss.strings(response, css.LEGACY_ARTICLE_HREFS):  # skipped without article.cfm
        url = urljoin(response.url, href.strip())
        object_id = urls.legacy_object_id(url)
        if object_id and object_id not in found:
            found[object_id] = url
    return [(url, object_id) for object_id, url in found.items()]
