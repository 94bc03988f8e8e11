"""The visible body as blocks, as cleaned HTML and as images: one walk over the body sections.

The sections are those :func:`herald_spider.pages.body.visible_sections` finds, and the same
paywall rule holds: a hidden element (``display:none``, ``hidden``, a class JSON-LD names as
not free) is left out with all it holds. Noise (asides, ads, newsletter and subscription boxes,
share bars; the era's ``BODY_NOISE``) is left out too.

Blocks: every ``<p>`` that ``body`` reads is a ``paragraph`` block with the same text, so the
paragraph blocks joined by blank lines are ``body``; headings are ``subheading`` blocks,
``<blockquote>`` a ``quote`` block and each ``<li>`` of a list a ``list_item`` block.

HTML: an allow-list of tags (:data:`KEEP`), no attribute but ``a[href]`` (absolute, http(s) or
mailto only) and ``img[src, alt]`` (the largest real image, not the lazy placeholder). Other
elements are unwrapped (their content kept), :data:`DROP` elements removed with their content.
The HTML is built anew: the page's tree is never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from herald_spider.pages.body import NOISE_PARAGRAPHS, hidden, paragraph_text
from herald_spider.pages.images import Record, largest_candidate, record, structured_record
from herald_spider.pages.normalize import clean_text, collapse_ws
from herald_spider.pages.structured import as_list, dig

#: tag -> the tag it becomes in ``body_html``
KEEP = {
    "p": "p",
    "h2": "h2",
    "h3": "h3",
    "h4": "h4",
    "h5": "h4",
    "h6": "h4",
    "blockquote": "blockquote",
    "ul": "ul",
    "ol": "ol",
    "li": "li",
    "a": "a",
    "strong": "strong",
    "b": "strong",
    "em": "em",
    "i": "em",
    "br": "br",
    "figure": "figure",
    "figcaption": "figcaption",
}
#: removed with everything they hold
DROP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "svg",
        "canvas",
        "video",
        "audio",
        "source",
        "link",
        "meta",
        "head",
        "title",
    }
)
HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol"})
#: elements looked into for blocks (not ``article``: a story card is one; not inline elements)
_CONTAINERS = frozenset({"div", "section", "main", "span", "center"})
#: elements whose text is set apart from its neighbours' when read as one block's text
_BLOCK_TAGS = frozenset({"p", "div", "li", "ul", "ol", "blockquote", "br", "section", *HEADINGS})
_SKIP_TEXT = frozenset({"script", "style", "noscript", "template", "button", "svg", "figure"})
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_IMAGE_SCHEMES = frozenset({"http", "https"})
#: the first letter of each paragraph ``body`` leaves out as noise (they are lower case)
_NOISE_FIRST = frozenset(noise[0] for noise in NOISE_PARAGRAPHS)


def block(kind: str, text: str | None) -> dict[str, str] | None:
    return {"kind": kind, "text": text} if text else None


@dataclass
class Walked:
    """What the visible body holds: its blocks, its cleaned HTML and its images."""

    blocks: list[dict[str, str]] = field(default_factory=list)
    html: str | None = None
    images: list[Record] = field(default_factory=list)


def _append_text(parent: Any, text: str | None) -> None:
    """``text`` after the last child of ``parent``, or as its text (:func:`_tidy` collapses
    its white space once the tree is built)."""
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def single_spaced(text: str) -> str:
    """``text`` with each run of white space made one space, as ``re.sub(r"\\s+", " ", text)``
    does, in str methods: they know the same white space (``str.isspace``) and read a paragraph
    several times faster than the regex. ``text`` itself when it holds no run to collapse.

    >>> [single_spaced(t) for t in ("a b", " a\\n\\t b\\u00a0 ", "\\n ", "")]
    ['a b', ' a b ', ' ', '']
    >>> import re
    >>> samples = ("a  b", "\\u2028x\\u3000", "a\\u200bb", " x", "x\\r\\n")
    >>> all(single_spaced(t) == re.sub(r"\\s+", " ", t) for t in samples)
    True
    """
    if text.isprintable() and "  " not in text:  # no white space but single spaces
        return text
    words = text.split()
    if not words:
        return " "
    return f"{' ' if text[0].isspace() else ''}{' '.join(words)}{' ' if text[-1].isspace() else ''}"


#: elements whose text starts and ends without white space in ``body_html``
_TRIMMED = frozenset({"p", "h2", "h3", "h4", "li", "blockquote", "figcaption"})


def _tidy(container: Any) -> None:
    """White space collapsed across the pieces of text that removed elements left side by
    side, and trimmed inside each block."""
    for el in container.iter():
        if text := el.text:
            spaced = single_spaced(text)
            if spaced is not text:
                el.text = spaced
        if tail := el.tail:
            spaced = single_spaced(tail)
            if spaced is not tail:
                el.tail = spaced
    for el in container.iter(*_TRIMMED):
        if el.text:
            el.text = el.text.lstrip() or None
        last = el[-1] if len(el) else None
        if last is None and el.text:
            el.text = el.text.rstrip() or None
        elif last is not None and last.tail:
            last.tail = last.tail.rstrip() or None


def serialize(container: Any) -> str | None:
    """The children of ``container`` as HTML, one top-level block a line.

    >>> root = etree.fromstring("<div> <p>a <em>b</em></p> <p>c</p> </div>")
    >>> serialize(root)
    '<p>a <em>b</em></p>\\n<p>c</p>'

    Text between the blocks is escaped as lxml escapes the text inside them, so text the page
    wrote as ``&lt;script&gt;`` stays text:

    >>> serialize(etree.fromstring("<div>Fish &amp; chips &lt;3<p>x</p>&lt;script&gt;</div>"))
    'Fish &amp; chips &lt;3\\n<p>x</p>\\n&lt;script&gt;'
    """
    _tidy(container)
    parts = [escape((container.text or "").strip(), quote=False)]
    for child in container:
        tail = child.tail
        child.tail = None
        parts.append(etree.tostring(child, method="html", encoding="unicode"))
        if tail and tail.strip():
            parts.append(escape(tail.strip(), quote=False))
    return "\n".join(part for part in parts if part) or None


class BodyWalker:
    """One walk of the visible body sections of a page (or of structured body elements)."""

    def __init__(
        self,
        classes: frozenset[str],
        noise: Callable[[Any], bool],
        base_url: str,
        read: dict[Any, str | None] | None = None,
    ) -> None:
        self.classes = classes
        #: paragraph -> its text, for paragraphs ``body`` has read already (the same text)
        self.read = {} if read is None else read
        #: the era's NOISE: whether an element is noise (tested on each element walked)
        self.noise = noise
        self.base_url = base_url
        self.sections: set[Any] = set()
        self.walked = Walked()

    # --- DOM --------------------------------------------------------------------------

    def walk(self, sections: list[Any]) -> Walked:
        p_children = any(True for section in sections for _ in section.iterchildren("p"))
        self.sections = set(sections)
        container = etree.Element("div")
        for section in sections:
            if any(a in self.sections for a in section.iterancestors()):
                continue  # read with the section that holds it
            for child in section:
                self._blocks(child, wrapped=not p_children)
            self._children(section, container, None)
        self.walked.html = serialize(container)
        return self.walked

    def _add(self, kind: str, text: str | None) -> None:
        if found := block(kind, text):
            self.walked.blocks.append(found)

    def _text(self, el: Any) -> str | None:
        return collapse_ws(self._visible(el))

    def _visible(self, root: Any) -> str:
        """The visible text of ``root``, block elements set apart by spaces. Iterative, as
        every walk here: a page may nest elements thousands deep."""
        parts = [root.text or ""]
        stack = [(root, iter(root))]
        while stack:
            el, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if el is not root:
                    parts.append(f" {el.tail or ''}" if el.tag in _BLOCK_TAGS else el.tail or "")
                continue
            if isinstance(child.tag, str) and child.tag not in _SKIP_TEXT and not hidden(child, self.classes):
                parts.append(f" {child.text or ''}" if child.tag in _BLOCK_TAGS else child.text or "")
                stack.append((child, iter(child)))
            else:
                parts.append(child.tail or "")
        return "".join(parts)

    def _blocks(self, top: Any, wrapped: bool) -> None:
        """The blocks of ``top``, a child of a section, in order. ``wrapped``: the section's
        paragraphs are not its children, so every ``<p>`` is read, as ``body`` reads such a
        layout; else only the section's own ``<p>`` children are paragraphs (as in ``body``),
        while headings, quotes and lists are found in any container of the section."""
        stack = [(top, True)]
        while stack:
            el, own = stack.pop()
            tag = el.tag
            if not isinstance(tag, str) or hidden(el, self.classes):
                continue
            if tag == "p":  # as body reads it: a paragraph's own class is never noise
                if own or wrapped:
                    text = self.read[el] if el in self.read else paragraph_text(el, self.classes)
                    self._add("paragraph", text)
            elif self.noise(el):
                continue
            elif tag in HEADINGS:
                self._add("subheading", self._text(el))
            elif wrapped and (tag == "blockquote" or tag in _LISTS) and any(True for _ in el.iter("p")):
                stack.extend((child, True) for child in reversed(el))  # its paragraphs are body's
            elif tag == "blockquote":
                self._add("quote", self._text(el))
            elif tag in _LISTS:
                for item in el.iterchildren("li"):
                    if not hidden(item, self.classes):
                        self._add("list_item", self._text(item))
            elif el in self.sections:
                stack.extend((child, True) for child in reversed(el))
            elif wrapped or tag in _CONTAINERS:
                stack.extend((child, wrapped) for child in reversed(el))

    def _skipped(self, el: Any, tag: Any) -> bool:
        if not isinstance(tag, str) or tag in DROP or hidden(el, self.classes):
            return True
        if tag not in ("figure", "figcaption") and self.noise(el):
            return True
        # "Advertisement", "Share this article:" (body leaves them out)
        return tag == "p" and self._noise_paragraph(el)

    def _noise_paragraph(self, p: Any) -> bool:
        """Whether a paragraph's visible text is one of ``NOISE_PARAGRAPHS``. That text starts
        where the paragraph's own text does, so a first letter that starts no noise paragraph
        rules it out before the rest is read (lower case is per character but for a final
        sigma, which starts none)."""
        own = (p.text or "").lstrip()
        if own and own[0].lower() not in _NOISE_FIRST:
            return False
        return (self._text(p) or "").lower() in NOISE_PARAGRAPHS

    def _children(self, src: Any, dst: Any, caption: str | None) -> None:
        """The cleaned content of ``src`` into ``dst``: kept elements copied without their
        attributes, the others unwrapped or dropped (see the module's docstring)."""
        _append_text(dst, src.text)
        # frames: (children left, where they go, caption, (made, its parent) or None, tail)
        stack: list[tuple[Any, Any, str | None, tuple[Any, Any] | None, str | None]] = [
            (iter(src), dst, caption, None, None)
        ]
        while stack:
            children, out, figure_caption, made, _ = stack[-1]
            child = next(children, None)
            if child is None:
                _, _, _, made, tail = stack.pop()
                if made is not None:
                    new, parent = made
                    if new.tag != "br" and not len(new) and not (new.text or "").strip():
                        parent.remove(new)
                if stack:
                    _append_text(stack[-1][1], tail)
                continue
            tag = child.tag
            if self._skipped(child, tag):
                _append_text(out, child.tail)
                continue
            if tag == "img":
                self._image(child, out, figure_caption)
                _append_text(out, child.tail)
                continue
            if tag == "figure":
                captions = [c for c in child.iter("figcaption") if not hidden(c, self.classes)]
                figure_caption = self._text(captions[0]) if captions else None
            new_tag = KEEP.get(tag)
            href = self._href(child) if new_tag == "a" else None
            target, made = out, None
            if new_tag is not None and (new_tag != "a" or href is not None):
                target = etree.SubElement(out, new_tag)
                if href:
                    target.set("href", href)
                made = (target, out)
            _append_text(target, child.text)
            stack.append((iter(child), target, figure_caption, made, child.tail))

    def _href(self, el: Any) -> str | None:
        href = (el.get("href") or "").strip()
        if not href:
            return None
        url = urljoin(self.base_url, href)
        return url if urlsplit(url).scheme in _LINK_SCHEMES else None

    def _image(self, img: Any, dst: Any, caption: str | None) -> None:
        url = largest_candidate(img, self.base_url)
        if not url or urlsplit(url).scheme not in _IMAGE_SCHEMES:
            return  # a javascript: or data: source is not an image of the article
        new = etree.SubElement(dst, "img", src=url)
        if alt := collapse_ws(img.get("alt")):
            new.set("alt", alt)
        self.walked.images.append(record(url, caption))

    # --- structured data (a page without a readable body section) -----------------------

    def walk_structured(self, elements: list[Any], article_body: Any) -> Walked:
        """The blocks, HTML and images of Fusion ``elements`` / ANS ``content_elements``; the
        JSON-LD ``articleBody`` lines when they hold no text (as ``body`` reads them)."""
        container = etree.Element("div")
        for element in elements:
            if isinstance(element, dict):
                self._element(element, container)
        if not any(b["kind"] == "paragraph" for b in self.walked.blocks) and isinstance(article_body, str):
            self.walked = Walked(images=self.walked.images)
            container = etree.Element("div")
            for line in article_body.split("\n"):
                if text := clean_text(line):
                    self._add("paragraph", text)
                    etree.SubElement(container, "p").text = text
        self.walked.html = serialize(container)
        return self.walked

    def _element(self, element: dict[str, Any], container: Any) -> None:
        kind, content = element.get("type"), element.get("content")
        if kind == "text" and isinstance(content, str):
            if text := clean_text(content):
                self._add("paragraph", text)
                self._fragment(content, etree.SubElement(container, "p"))
        elif kind == "header" and isinstance(content, str):
            level = element.get("level") if element.get("level") in (2, 3, 4) else 2
            if text := clean_text(content):
                self._add("subheading", text)
                self._fragment(content, etree.SubElement(container, f"h{level}"))
        elif kind == "quote":
            parts = [dig(e, "content") for e in as_list(element.get("content_elements"))] or [content]
            texts = [text for part in parts if isinstance(part, str) and (text := clean_text(part))]
            if texts:
                self._add("quote", " ".join(texts))
                quote = etree.SubElement(container, "blockquote")
                for part in parts:
                    if isinstance(part, str) and clean_text(part):
                        self._fragment(part, etree.SubElement(quote, "p"))
        elif kind == "list":
            tag = "ol" if element.get("list_type") == "ordered" else "ul"
            items = [dig(item, "content") for item in as_list(element.get("items"))]
            shown = [(part, text) for part in items if isinstance(part, str) and (text := clean_text(part))]
            if shown:
                listed = etree.SubElement(container, tag)
                for part, item_text in shown:
                    self._add("list_item", item_text)
                    self._fragment(part, etree.SubElement(listed, "li"))
        elif kind == "image":
            image = structured_record(element)
            if image.url:
                self.walked.images.append(image)
                figure = etree.SubElement(container, "figure")
                etree.SubElement(figure, "img", src=image.url)
                if image.caption:
                    etree.SubElement(figure, "figcaption").text = image.caption

    def _fragment(self, markup: str, dst: Any) -> None:
        """An HTML fragment of structured data, cleaned into ``dst``."""
        try:
            parsed = lxml_html.fragment_fromstring(markup, create_parent="div")
        except (etree.ParserError, ValueError):
            dst.text = clean_text(markup)
            return
        self._children(parsed, dst, None)
