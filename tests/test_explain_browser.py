"""The HTML view in a real headless browser (Debian's chromium): it renders from a plain file, shaded, with the words."""

import os
import shutil
import subprocess

import pytest

from textattn.__main__ import main

REVIEW = "a great film and a dull ending"
LONG = " ".join(["the plot was long and the actor was boring"] * 40)


def chromium() -> str:
    """The browser's path; installs Debian's chromium when it is missing, skips only if that fails."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    for command in (
        ["apt-get", "install", "-y", "-q", "chromium"],
        ["sh", "-c", "apt-get update -q && apt-get install -y -q chromium"],
    ):
        try:
            subprocess.run(
                command,
                capture_output=True,
                timeout=900,
                check=False,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip("no browser: chromium is not installed and `apt-get install -y chromium` failed")


def headless(browser: str, profile, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
def test_page_renders_in_headless_chromium(tiny_run, tmp_path):
    browser = chromium()
    page = tmp_path / "view.html"
    assert main(["explain", tiny_run, REVIEW, LONG, "--html", str(page)]) == 0
    url = page.resolve().as_uri()

    dom = headless(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for word in REVIEW.split() + ["plot", "actor", "boring"]:
        assert f">{word}</span>" in dom.stdout
    assert dom.stdout.count('<section class="review">') == 2
    assert dom.stdout.count("p(pos) = ") + dom.stdout.count("p(neg) = ") == 2  # the predicted class's probability

    shot = tmp_path / "view.png"
    result = headless(
        browser, tmp_path / "profile", "--hide-scrollbars", "--window-size=900,700", f"--screenshot={shot}", url
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))[..., :3]
    assert pixels.shape[:2] == (700, 900)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    shaded = (red > 0.95) & (green > 0.55) & (green < 0.9) & (blue < 0.5)  # strongly shaded tokens (orange)
    assert shaded.sum() > 100
    dark_text = pixels.max(axis=-1) < 0.3
    right_margin = dark_text[:, 880:].sum()  # the long review wraps inside the page: no text runs off the right
    assert dark_text.sum() > 1000 and right_margin == 0
