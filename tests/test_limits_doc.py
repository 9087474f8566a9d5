"""The README's "Limits and safety" is docs/limits.md, word for word.

docs/limits.md is the page to edit; this test fails when the two differ, and
BPSHELL_UPDATE_README=1 copies the page into the README.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "## Limits and safety", "## Performance"


def test_the_readme_section_is_docs_limits_md() -> None:
    page = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    a, b = readme.index(START), readme.index(END)
    section = readme[a:b].rstrip("\n") + "\n"
    if section != page and os.environ.get("BPSHELL_UPDATE_README") == "1":
        (ROOT / "README.md").write_text(readme[:a] + page + "\n" + readme[b:],
                                        encoding="utf-8")
        return
    assert section == page, "README's Limits and safety differs from docs/limits.md"
