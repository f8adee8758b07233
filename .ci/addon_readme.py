"""Write each addon's README.rst from its readme/*.md fragments, as OCA's oca-gen-addon-readme does.

    python .ci/addon_readme.py            # (re)write odoo_addon_collections/*/README.rst
    python .ci/addon_readme.py --check    # exit 1 when a README.rst is not what its fragments give

The fragments are the source (DESCRIPTION, INSTALL, CONFIGURE, USAGE, ROADMAP, HISTORY,
CONTRIBUTORS); they use the little Markdown this converter knows: paragraphs, "- " lists with
indented continuation lines, `code`, **bold**, *emphasis*, [links](url) and fenced code blocks.
The README is what pylint-odoo asks for and what the addon's wheel shows as its description.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ADDONS_DIR = Path(__file__).resolve().parents[1] / "odoo_addon_collections"
SECTIONS = [
    ("INSTALL", "Installation"),
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("ROADMAP", "Known issues / Roadmap"),
    ("HISTORY", "Changelog"),
]
BADGES = {
    "Alpha": ("maturity-Alpha-red", "Alpha"),
    "Beta": ("maturity-Beta-yellow", "Beta"),
    "Production/Stable": ("maturity-Production%2FStable-green", "Production/Stable"),
    "Mature": ("maturity-Mature-brightgreen", "Mature"),
}
HEADER = """\
.. !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
   !! Generated from the readme/ fragments by .ci/addon_readme.py !!
   !! Edit the fragments, then run: python .ci/addon_readme.py     !!
   !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


def inline(text: str) -> str:
    """Markdown inline markup to reStructuredText."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`__", text)
    return re.sub(r"(?<!`)`([^`]+)`(?!`|_)", r"``\1``", text)


def markdown_to_rst(markdown: str) -> str:
    """The fragment's Markdown as reStructuredText (the subset the fragments use)."""
    out: list[str] = []
    lines = markdown.strip("\n").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            out += [f".. code-block:: {fence.group(1) or 'text'}", ""]
            index += 1
            while index < len(lines) and not lines[index].startswith("```"):
                out.append(f"    {lines[index]}".rstrip())
                index += 1
            out.append("")
        elif line.startswith("#"):
            title = inline(line.lstrip("#").strip())
            out += [title, "~" * len(title)]
        else:
            out.append(inline(line).rstrip())
        index += 1
    return "\n".join(out).strip("\n") + "\n"


def heading(title: str, underline: str, overline: bool = False) -> str:
    rule = underline * len(title)
    return f"{rule}\n{title}\n{rule}\n" if overline else f"{title}\n{rule}\n"


def readme(addon: Path) -> str:
    """The README.rst of an addon, from its manifest and its readme/ fragments."""
    manifest = ast.literal_eval((addon / "__manifest__.py").read_text(encoding="utf-8"))
    fragments = {path.stem: path.read_text(encoding="utf-8") for path in (addon / "readme").glob("*.md")}
    status = manifest.get("development_status", "Beta")
    badge, label = BADGES[status]
    license_ = manifest["license"]
    parts = [
        HEADER,
        heading(manifest["name"], "=", overline=True),
        f"|badge1| |badge2|\n\n"
        f".. |badge1| image:: https://img.shields.io/badge/{badge}.png\n"
        f"    :target: https://odoo-community.org/page/development-status\n"
        f"    :alt: {label}\n"
        f".. |badge2| image:: https://img.shields.io/badge/licence-{license_.replace('-', '--')}-blue.png\n"
        f"    :target: https://www.gnu.org/licenses/\n"
        f"    :alt: License: {license_}\n",
        markdown_to_rst(fragments["DESCRIPTION"]),
        "**Table of contents**\n\n.. contents::\n   :local:\n",
    ]
    for stem, title in SECTIONS:
        if stem in fragments:
            parts.append(heading(title, "=") + "\n" + markdown_to_rst(fragments[stem]))
    website = manifest.get("website", "")
    parts.append(
        heading("Bug Tracker", "=")
        + f"\nBugs are tracked on `the project's issues <{website}/issues>`__.\n"
    )
    credits = heading("Credits", "=") + "\n" + heading("Authors", "-") + "\n"
    credits += "".join(f"* {author.strip()}\n" for author in manifest["author"].split(","))
    if "CONTRIBUTORS" in fragments:
        credits += "\n" + heading("Contributors", "-") + "\n" + markdown_to_rst(fragments["CONTRIBUTORS"])
    parts.append(credits)
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for manifest in sorted(ADDONS_DIR.glob("*/__manifest__.py")):
        addon = manifest.parent
        path = addon / "README.rst"
        text = readme(addon)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if check:
            stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in stale:
        print(f"{path} is not what its readme/ fragments give: run python .ci/addon_readme.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
