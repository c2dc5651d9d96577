"""A plain (non-editable) `pip install .` carries the templates, static files and seed scenarios."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_wheel_installs_and_finds_its_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("wallboard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("wallboard/templates/tv.html", "wallboard/templates/supervisor.html", "wallboard/static/tv.js",
                     "wallboard/seeds/bank-hotline.toml", "wallboard/seeds/small-centre.toml"):
        assert expected in names, expected
    assert any(n.startswith("wallboard/static/vendor/uplot/") for n in names)
    # With a C compiler here (scripts/test requires one), the hot path is compiled (setup.py).
    if shutil.which("cc") or shutil.which("gcc"):
        for module in ("engine", "events", "periods", "localday"):
            assert any(n.startswith(f"wallboard/{module}.") and n.endswith(".so") for n in names), module

    # Install it into a fresh environment (dependencies from this one) and ask it where its files are,
    # from a folder that is not the checkout.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True, capture_output=True)
    probe = (
        "import wallboard, wallboard.resources as r, sys;"
        "assert wallboard.build() == ('compiled' if sys.argv[1] == 'yes' else 'pure Python'), wallboard.build();"
        "t, s, d = r.templates_dir(), r.static_dir(), r.seeds_dir();"
        "assert 'site-packages' in str(t), t;"
        "assert (t / 'tv.html').is_file() and (s / 'tv.js').is_file() and (d / 'bank-hotline.toml').is_file();"
        "print('ok')"
    )
    compiler = "yes" if shutil.which("cc") or shutil.which("gcc") else "no"
    out = subprocess.run([str(python), "-c", probe, compiler], cwd=tmp_path, check=True, capture_output=True,
                         text=True)
    assert out.stdout.strip() == "ok"
    version = subprocess.run([str(venv / "bin" / "wallboard"), "--version"], cwd=tmp_path, check=True,
                             capture_output=True, text=True)
    assert "wallboard" in version.stdout
