"""`prmlabel report`: one self-contained page that headless Chromium opens without errors, every plot drawn."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from prmlabel.inspect.report import PLOTS
from tests.conftest import run_prmlabel, skip_or_fail

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Appended to a copy of the report (the report itself has no script): after load, record each
# plot's decoded size on <body>, where --dump-dom shows it.
PROBE = """<script>
window.addEventListener("load", () => {
  const sizes = [...document.querySelectorAll("img.plot")]
    .map(i => i.id + ":" + i.naturalWidth + "x" + i.naturalHeight);
  document.body.setAttribute("data-plots", sizes.join(","));
});
</script>"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:  # CI (.ci/run) installs it and lists chromium in PRMLABEL_REQUIRE_BACKENDS
        skip_or_fail("chromium", "chromium is not installed (on Debian: apt-get install chromium)")
    return path


def headless(url: str, profile, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run([chromium(), *flags, *args, url], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(run_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    proc = run_prmlabel(["report", str(run_folder), "-o", str(out / "report.html"), "--png-dir", str(out / "png")])
    assert "(5 plots)" in proc.stdout
    return out


def test_page_is_self_contained_and_pngs_are_written(report):
    page = (report / "report.html").read_text()
    assert "<script" not in page and "<link" not in page and not re.search(r'src="(?!data:)', page)
    for plot_id, _, _ in PLOTS:
        assert f'id="plot-{plot_id}"' in page
        assert (report / "png" / f"{plot_id}.png").read_bytes().startswith(PNG_MAGIC)
    for stage in ("rollouts", "mc", "omegaprm", "final"):
        assert f"<h3>{stage}</h3>" in page  # each stage's config
    assert "stage: filter" in page


def test_chromium_opens_it_without_console_errors_and_draws_every_plot(report, tmp_path):
    probe = report / "probe.html"
    probe.write_text((report / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    proc = headless(probe.as_uri(), tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Failed to load" in line]
    assert console == []
    sizes = dict(item.split(":") for item in re.search(r'data-plots="([^"]*)"', proc.stdout).group(1).split(","))
    assert set(sizes) == {f"plot-{plot_id}" for plot_id, _, _ in PLOTS}
    for size in sizes.values():
        width, height = map(int, size.split("x"))
        assert width > 300 and height > 200  # decoded, not a broken-image icon
    shot = tmp_path / "shot.png"
    headless(
        (report / "report.html").as_uri(), tmp_path / "profile2", "--window-size=1200,2400", f"--screenshot={shot}"
    )
    assert shot.read_bytes().startswith(PNG_MAGIC)
