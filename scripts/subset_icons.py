"""Build a Bootstrap Icons subset holding only the icons this project uses.

The full vendored font (static/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2, 134 KB) and its CSS
(87 KB) are too heavy for a teacher's phone on 3G. This script finds every icon class the project names
and writes, from the vendored full files:

    static/vendor/bootstrap-icons/subset/bootstrap-icons.woff2   only the used glyphs (fontTools, brotli)
    static/vendor/bootstrap-icons/subset/bootstrap-icons.css     @font-face + base rule + one rule per icon

Codepoints and the base rule are copied from the upstream CSS, never typed by hand.

Where icons are looked for:
- ``bi-<name>`` anywhere in templates/**/*.html, static/js/**/*.js, static/css/**/*.css (not static/vendor)
  and the Python sources of the apps and config (migrations excluded);
- bare names given to an ``icon`` keyword or key, e.g. ``icon="people"`` / ``"icon": "bi-people"``
  (Python, template ``{% include ... with icon="people" %}``, JS ``icon: "people"``);
- EXTRA below: icons whose class is built at run time, or that someone is adding in a parallel change.

A match that is no upstream icon (``bi-weekly`` in prose, a typo, a prefix of a class built by string
concatenation) is reported as a warning and left out; it never stops the build.

Usage (from the repository root, with the venv's python):

    .venv/bin/python scripts/subset_icons.py           # rebuild the subset
    .venv/bin/python scripts/subset_icons.py --check   # exit 1 if a used icon is missing from the subset
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = Path("static/vendor/bootstrap-icons")
UPSTREAM_CSS = VENDOR / "bootstrap-icons.min.css"
UPSTREAM_FONT = VENDOR / "fonts" / "bootstrap-icons.woff2"
SUBSET_DIR = VENDOR / "subset"
SUBSET_CSS = SUBSET_DIR / "bootstrap-icons.css"
SUBSET_FONT = SUBSET_DIR / "bootstrap-icons.woff2"

PYTHON_PACKAGES = ("students", "casework", "reporting", "accountability", "config")

# Icons the scan cannot see. Keep each with the reason; remove one when the scan finds it by itself.
EXTRA: frozenset[str] = frozenset()  # none today: every icon is named in the sources

# "bi-" not preceded by a letter, digit, "_" or "-" (so "combi-nation" is no match).
CLASS_RE = re.compile(r"(?<![\w-])bi-[a-z0-9-]+")
# icon="people", icon='bi-people', "icon": "people", icon: "people", data-icon="people", nav_icon = "...";
# "icon" must be a whole part of the key (FAVICON_HREF is no match), the value a lowercase name.
KEYWORD_RE = re.compile(
    r"""(?<![\w-])(?i:(?:[a-z0-9]+[_-])*icon(?:[_-][a-z0-9]+)*)["']?\s*[:=]\s*["']((?:bi-)?[a-z0-9][a-z0-9-]*)["']"""
)
UPSTREAM_RULE_RE = re.compile(r'\.bi-([a-z0-9-]+)::before\{content:"\\([0-9a-f]+)"\}')
FONT_FACE_RE = re.compile(r"@font-face\{([^}]*)\}")
BASE_RULE_RE = re.compile(r"(\.bi::before,[^{]*)\{([^}]*)\}")
BANNER_RE = re.compile(r"\A/\*!.*?\*/", re.DOTALL)


@dataclass
class Upstream:
    """What the vendored full CSS says: icon name -> codepoint, and the rules to copy."""

    codepoints: dict[str, int]
    banner: str
    font_face_declarations: list[str]
    base_rule: str

    @classmethod
    def read(cls, root: Path = ROOT) -> Upstream:
        css = (root / UPSTREAM_CSS).read_text(encoding="utf-8")
        codepoints = {name: int(hex_, 16) for name, hex_ in UPSTREAM_RULE_RE.findall(css)}
        font_face = FONT_FACE_RE.search(css)
        base = BASE_RULE_RE.search(css)
        banner = BANNER_RE.search(css)
        if not codepoints or font_face is None or base is None or banner is None:
            raise SystemExit(f"{UPSTREAM_CSS}: not the Bootstrap Icons CSS this script knows how to read")
        declarations = [d for d in font_face.group(1).split(";") if d and not d.startswith("src:")]
        return cls(codepoints, banner.group(0), declarations, base.group(0))


@dataclass
class Scan:
    """Icons found in the sources, and the matches that are no upstream icon (with where they were)."""

    icons: set[str] = field(default_factory=set)
    unknown: dict[str, list[str]] = field(default_factory=dict)


def source_files(root: Path = ROOT) -> Iterator[Path]:
    yield from sorted((root / "templates").rglob("*.html"))
    for kind in ("js", "css"):
        folder = root / "static" / kind
        yield from sorted(p for p in folder.rglob(f"*.{kind}") if "vendor" not in p.relative_to(root).parts)
    for package in PYTHON_PACKAGES:
        yield from sorted(p for p in (root / package).rglob("*.py") if "migrations" not in p.parts)


def names_in(text: str) -> Iterator[str]:
    """Every icon name ``text`` mentions, without the ``bi-`` prefix (may include non-icons)."""
    for match in CLASS_RE.finditer(text):
        yield match.group(0).removeprefix("bi-")
    for match in KEYWORD_RE.finditer(text):
        yield match.group(1).removeprefix("bi-")


def scan(upstream: Upstream, root: Path = ROOT, files: Iterable[Path] | None = None) -> Scan:
    found = Scan()
    for path in source_files(root) if files is None else files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in names_in(text):
            if name in upstream.codepoints:
                found.icons.add(name)
            else:
                found.unknown.setdefault(name, []).append(str(path.relative_to(root)))
    return found


def used_icons(upstream: Upstream, root: Path = ROOT) -> set[str]:
    """The icons the subset must hold: what the scan finds plus EXTRA."""
    return scan(upstream, root).icons | (EXTRA & upstream.codepoints.keys())


def subset_css(upstream: Upstream, icons: Iterable[str]) -> str:
    font_face = ";".join([*upstream.font_face_declarations, 'src:url("bootstrap-icons.woff2") format("woff2")'])
    lines = [
        upstream.banner,
        "/* Subset built by scripts/subset_icons.py from ../bootstrap-icons.min.css; do not edit. */",
        f"@font-face{{{font_face}}}",
        upstream.base_rule,
        *(f'.bi-{name}::before{{content:"\\{upstream.codepoints[name]:x}"}}' for name in sorted(icons)),
    ]
    return "\n".join(lines) + "\n"


def subset_font(upstream: Upstream, icons: Iterable[str], root: Path = ROOT) -> bytes:
    from fontTools import subset  # build-time dependency (dev extras)
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # upstream's harmless "extra bytes in post"

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []  # the icon font has no ligatures or other features in use
    options.name_IDs = ["*"]  # keep the copyright and licence strings
    # recalcTimestamp=False: deterministic output, upstream's head.modified is kept.
    # recalcBBoxes=False: upstream's glyph bounding boxes do not fit the outlines (xMin 0 where the ink
    # starts at 19) and its left side bearings match those boxes; recomputed boxes with the same bearings
    # would move every such icon left by the difference when rendered. Keep them as upstream ships them.
    font = TTFont(root / UPSTREAM_FONT, recalcTimestamp=False, recalcBBoxes=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(upstream.codepoints[name] for name in icons))
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


def font_codepoints(path: Path) -> set[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path) as font:
        return set(font.getBestCmap())


def defined_in_css(css: str) -> dict[str, int]:
    return {name: int(hex_, 16) for name, hex_ in UPSTREAM_RULE_RE.findall(css)}


def report_unknown(found: Scan) -> None:
    for name, where in sorted(found.unknown.items()):
        places = ", ".join(sorted(set(where)))
        hint = " (a class built at run time? name the icons it can become in EXTRA)" if name.endswith("-") else ""
        sys.stderr.write(f"warning: bi-{name} is no Bootstrap Icons icon, left out{hint}: {places}\n")


def check(upstream: Upstream, icons: set[str], root: Path = ROOT) -> list[str]:
    """Problems with the committed subset: a used icon without its rule, codepoint or glyph."""
    css_path, font_path = root / SUBSET_CSS, root / SUBSET_FONT
    if not css_path.exists() or not font_path.exists():
        return [f"{SUBSET_CSS} or {SUBSET_FONT} is missing"]
    defined = defined_in_css(css_path.read_text(encoding="utf-8"))
    glyphs = font_codepoints(font_path)
    problems = []
    for name in sorted(icons):
        codepoint = upstream.codepoints[name]
        if name not in defined:
            problems.append(f"bi-{name}: no rule in {SUBSET_CSS}")
        elif defined[name] != codepoint:
            problems.append(f"bi-{name}: codepoint {defined[name]:x} in {SUBSET_CSS}, upstream {codepoint:x}")
        if codepoint not in glyphs:
            problems.append(f"bi-{name}: no glyph for U+{codepoint:X} in {SUBSET_FONT}")
    return problems


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed subset; write nothing")
    args = parser.parse_args(argv)

    upstream = Upstream.read(root)
    found = scan(upstream, root)
    report_unknown(found)
    for name in sorted(EXTRA - upstream.codepoints.keys()):
        sys.stderr.write(f"warning: EXTRA names bi-{name}, which is no Bootstrap Icons icon\n")
    icons = found.icons | (EXTRA & upstream.codepoints.keys())

    if args.check:
        problems = check(upstream, icons, root)
        for problem in problems:
            sys.stderr.write(f"error: {problem}\n")
        if problems:
            sys.stderr.write("The icon subset is out of date: run .venv/bin/python scripts/subset_icons.py\n")
            return 1
        sys.stdout.write(f"icon subset OK: {len(icons)} icons used, all in {SUBSET_DIR}\n")
        return 0

    css = subset_css(upstream, icons)
    font = subset_font(upstream, icons, root)
    (root / SUBSET_DIR).mkdir(parents=True, exist_ok=True)
    (root / SUBSET_CSS).write_text(css, encoding="utf-8")
    (root / SUBSET_FONT).write_bytes(font)

    full_css, full_font = (root / UPSTREAM_CSS).stat().st_size, (root / UPSTREAM_FONT).stat().st_size
    sys.stdout.write(
        f"{len(icons)} icons ({len(found.icons)} found in the sources, {len(icons - found.icons)} more from EXTRA)\n"
        f"{SUBSET_CSS}: {len(css.encode()):,} bytes (upstream {full_css:,})\n"
        f"{SUBSET_FONT}: {len(font):,} bytes (upstream {full_font:,})\n"
        "SHA-256 for static/vendor/README.md:\n"
    )
    for path, data in ((SUBSET_CSS, css.encode()), (SUBSET_FONT, font)):
        sys.stdout.write(f"{hashlib.sha256(data).hexdigest()}  {path.relative_to(VENDOR.parent).as_posix()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
