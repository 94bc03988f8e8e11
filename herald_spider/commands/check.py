"""``scrapy check``, saying which spider it could not check and why.

Scrapy's ``check`` builds each spider with the ``-a`` arguments given; a spider that refuses
them (``section`` needs ``-a section=...``) is dropped without a word, and the command ends
"Ran 0 contracts ... OK" with exit code 1. This one asks each spider first
(``check_arguments``, as ``scrapy crawl`` does): a spider named on the command line that
refuses its arguments ends the command with one line and exit code 1; with no spider named,
the spiders that cannot be built without arguments are skipped with a line each and the others
are checked (``scrapy check`` checks ``world``; ``scrapy check section -a section=world`` the
other).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands import check

from herald_spider.errors import Refused

if TYPE_CHECKING:
    import argparse


class Command(check.Command):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None
        loader = self.crawler_process.spider_loader
        names = args or loader.list()
        checked = []
        for name in names:
            try:
                refusal = _refusal(loader.load(name), opts.spargs)
            except KeyError:
                refusal = None  # Scrapy's own error follows
            if refusal is None:
                checked.append(name)
            elif args:
                print(f"Cannot check {name}: {refusal}", file=sys.stderr)
                self.exitcode = 1
                return
            else:
                print(f"Not checking {name}: {refusal}", file=sys.stderr)
        if not checked:
            self.exitcode = 1
            return
        super().run(checked, opts)


def _refusal(spidercls: Any, spargs: dict[str, Any]) -> str | None:
    test = getattr(spidercls, "check_arguments", None)
    if test is None:
        return None
    try:
        test(**spargs)
    except Refused as refused:
        return str(refused)
    return None
