"""The published instructions: the rulebook rendered as a static site in French and Dutch.

Pipeline: ``words`` renders a rule's condition in words; ``site`` builds every page;
``write_site`` writes them (each file whole, or not at all).
"""

from __future__ import annotations

import os
from pathlib import Path

from compiler import Compiled
from publish.site import Site


def write_site(compiled: Compiled, lang: str, out: Path) -> int:
    """Write the site of one language under ``out``; the number of pages."""
    pages = Site(compiled, lang).pages()
    for path, text in pages.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.part")
        temp.write_text(text, "utf-8")
        os.replace(temp, target)
    return len(pages)
