"""The Bootstrap Icons subset (scripts/subset_icons.py) holds every icon the project names, drawn as upstream.

A template, script or Python module that names an icon the committed subset lacks fails here: rebuild
with ``.venv/bin/python scripts/subset_icons.py``.
"""

import gzip
import importlib.util
import logging
import shutil
import sys
from pathlib import Path

import pytest
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent

logging.getLogger("fontTools").setLevel(logging.ERROR)  # upstream's harmless "extra bytes in post"


def load_script():
    spec = importlib.util.spec_from_file_location("subset_icons", ROOT / "scripts" / "subset_icons.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


si = load_script()


@pytest.fixture(scope="module")
def upstream():
    return si.Upstream.read(ROOT)


@pytest.fixture(scope="module")
def used(upstream):
    icons = si.used_icons(upstream, ROOT)
    assert len(icons) > 50, icons  # the scan found the project's icons, not nothing
    return icons


def drawing(font: TTFont, codepoint: int):
    """How ``font`` draws ``codepoint``: the outline where it lands, the advance and side bearing."""
    name = font.getBestCmap()[codepoint]
    pen = RecordingPen()
    glyph = font.getGlyphSet()[name]
    glyph.draw(pen)
    return pen.value, font["hmtx"][name]


def test_every_used_icon_has_its_upstream_codepoint_in_the_subset_css(upstream, used):
    defined = si.defined_in_css((ROOT / si.SUBSET_CSS).read_text(encoding="utf-8"))
    missing = sorted(used - defined.keys())
    assert missing == [], f"not in the subset, run .venv/bin/python scripts/subset_icons.py: {missing}"
    assert {name: defined[name] for name in used} == {name: upstream.codepoints[name] for name in used}


def test_subset_css_keeps_upstream_font_face_and_base_rule_pointing_at_the_subset_font(upstream):
    css = (ROOT / si.SUBSET_CSS).read_text(encoding="utf-8")
    assert upstream.base_rule in css
    assert "font-display:block" in css
    assert 'src:url("bootstrap-icons.woff2") format("woff2")' in css
    assert "Licensed under MIT" in css


def test_subset_font_draws_each_used_icon_exactly_as_upstream(upstream, used):
    with TTFont(ROOT / si.UPSTREAM_FONT) as full, TTFont(ROOT / si.SUBSET_FONT) as subset:
        assert subset.flavor == "woff2"
        cmap = subset.getBestCmap()
        missing = sorted(name for name in used if upstream.codepoints[name] not in cmap)
        assert missing == [], f"no glyph in the subset font for {missing}"
        different = [
            name
            for name in sorted(used)
            if drawing(subset, upstream.codepoints[name]) != drawing(full, upstream.codepoints[name])
        ]
        assert different == []


def test_subset_is_a_small_fraction_of_upstream():
    sizes = {
        path: ((ROOT / path).stat().st_size, len(gzip.compress((ROOT / path).read_bytes(), 9)))
        for path in (si.UPSTREAM_CSS, si.UPSTREAM_FONT, si.SUBSET_CSS, si.SUBSET_FONT)
    }
    for path, (raw, gz) in sizes.items():
        print(f"{path}: {raw:,} bytes, gzip -9 {gz:,}")
    assert sizes[si.SUBSET_FONT][0] < 24_000
    assert sizes[si.SUBSET_CSS][1] < 4_000
    assert sizes[si.SUBSET_FONT][0] < sizes[si.UPSTREAM_FONT][0] / 5


def test_every_page_loads_the_subset_not_the_full_icon_css():
    base = (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    assert "vendor/bootstrap-icons/subset/bootstrap-icons.css" in base
    assert "bootstrap-icons.min.css" not in base


def test_extra_names_only_real_icons(upstream):
    assert not si.EXTRA - upstream.codepoints.keys()


def test_check_passes_on_the_committed_subset(capsys):
    assert si.main(["--check"]) == 0
    assert "icon subset OK" in capsys.readouterr().out


@pytest.fixture
def project_copy(tmp_path):
    """A minimal project: the vendored icon files as committed and one template."""
    shutil.copytree(ROOT / si.VENDOR, tmp_path / si.VENDOR)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text('<i class="bi bi-people"></i>', encoding="utf-8")
    return tmp_path


def test_check_fails_when_a_template_names_an_icon_the_subset_lacks(project_copy, capsys):
    assert si.main(["--check"], root=project_copy) == 0
    (project_copy / "templates" / "page.html").write_text('<i class="bi bi-alarm"></i>', encoding="utf-8")

    assert si.main(["--check"], root=project_copy) == 1
    assert "bi-alarm" in capsys.readouterr().err

    assert si.main([], root=project_copy) == 0  # rebuilding adds it
    assert si.main(["--check"], root=project_copy) == 0
    css = (project_copy / si.SUBSET_CSS).read_text(encoding="utf-8")
    assert '.bi-alarm::before{content:"\\f102"}' in css


def test_rebuilding_gives_the_same_bytes(project_copy):
    assert si.main([], root=project_copy) == 0
    first = [(project_copy / p).read_bytes() for p in (si.SUBSET_CSS, si.SUBSET_FONT)]
    assert si.main([], root=project_copy) == 0
    assert [(project_copy / p).read_bytes() for p in (si.SUBSET_CSS, si.SUBSET_FONT)] == first


def test_scan_finds_classes_and_icon_keywords_and_reports_what_is_no_icon(upstream, project_copy, capsys):
    (project_copy / "templates" / "page.html").write_text(
        '<i class="bi bi-alarm"></i> combi-nation {% include "card.html" with icon="house" %}\n'
        '<span class="bi-weekly"></span> <i class="bi bi-{{ kind }}"></i>',
        encoding="utf-8",
    )
    (project_copy / "static" / "js").mkdir(parents=True)
    (project_copy / "static" / "js" / "page.js").write_text(
        'el.className = "bi bi-arrow-" + direction; const item = {icon: "gear"};', encoding="utf-8"
    )
    (project_copy / "students").mkdir()
    (project_copy / "students" / "menu.py").write_text(
        'ITEMS = [dict(label="学生", icon="people"), {"nav_icon": "bi-bell"}]\nFAVICON_HREF = "SIDECAR"\n',
        encoding="utf-8",
    )

    found = si.scan(upstream, project_copy)

    assert found.icons == {"alarm", "house", "gear", "people", "bell"}
    assert set(found.unknown) == {"weekly", "arrow-"}
    si.report_unknown(found)
    err = capsys.readouterr().err
    assert "bi-weekly is no Bootstrap Icons icon" in err
    assert "EXTRA" in err  # the run-time "bi-arrow-" + direction points at EXTRA
