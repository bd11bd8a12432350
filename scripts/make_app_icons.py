"""Render the home-screen icons (static/icons/*.png) from the favicon's drawing with headless Chromium.

Run once when the logo changes: ``.venv/bin/python scripts/make_app_icons.py``. The PNGs are committed
(Chromium's install prompt wants 192 and 512 px raster icons); the maskable one keeps the mortarboard
inside the central 80 % safe zone on a full-bleed background, as Android's icon masks expect.
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
GLYPH = "M32 12 10 22l22 10 22-10zM18 29v11c0 5 7 9 14 9s14-4 14-9V29l-14 6z"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="{size}" height="{size}">{body}</svg>'
ANY = f'<rect width="64" height="64" rx="12" fill="#0d6efd"/><path d="{GLYPH}" fill="#fff"/>'
# Maskable: a square background, the glyph scaled to 70 % around the centre.
MASKABLE = (
    '<rect width="64" height="64" fill="#0d6efd"/>'
    f'<g transform="translate(32 32) scale(0.7) translate(-32 -30.5)"><path d="{GLYPH}" fill="#fff"/></g>'
)
ICONS = [("icon-192.png", ANY, 192), ("icon-512.png", ANY, 512), ("icon-maskable-512.png", MASKABLE, 512)]


def main() -> None:
    out = ROOT / "static" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for name, body, size in ICONS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = SVG.format(size=size, body=body)
            page.set_content(f'<html><body style="margin:0;background:transparent">{svg}</body></html>')
            clip = {"x": 0, "y": 0, "width": size, "height": size}
            page.screenshot(path=str(out / name), omit_background=True, clip=clip)
            page.close()
            print(name, (out / name).stat().st_size, "bytes")  # noqa: T201
        browser.close()


if __name__ == "__main__":
    main()
