"""A plain (non-editable) `pip install .` carries the templates, static files and seed scenarios."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_wheel_installs_and_finds_its_files(tmp_path: Path) -> None:
    # Built from a copy of the sources, as a fresh clone would build them: an in-place build reuses ./build,
    # where setuptools keeps what earlier builds left (a module deleted since would still land in the wheel).
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("wallboard", "templates", "static", "seeds"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("wallboard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "wallboard/templates/tv.html",
        "wallboard/templates/supervisor.html",
        "wallboard/static/tv.js",
        "wallboard/seeds/bank-hotline.toml",
        "wallboard/seeds/small-centre.toml",
        "wallboard/seeds/settings/bank-boards.toml",
        "wallboard/static/tv-grid.js",
    ):
        assert expected in names, expected
    assert any(n.startswith("wallboard/static/vendor/uplot/") for n in names)
    # With a C compiler and Python's headers here (scripts/test requires both), the hot path is compiled
    # (setup.py).
    compiled = (
        bool(shutil.which("cc") or shutil.which("gcc")) and (Path(sysconfig.get_path("include")) / "Python.h").is_file()
    )
    if compiled:
        for module in ("engine", "events", "periods", "localday"):
            assert any(n.startswith(f"wallboard/{module}.") and n.endswith(".so") for n in names), module

    # Install it into a fresh environment and ask it where its files are, from a folder that is not the
    # checkout.  The environment gets no system site packages: those would be the *base* interpreter's
    # (pyenv's, Debian's, ...), not this one's, and whether `import wallboard` worked would depend on what
    # happens to be installed there.  Its dependencies are this environment's own instead, through a .pth
    # file naming this environment's site-packages: no network, a second or two, and exactly the versions
    # the rest of the suite runs.  (The .pth files *in* that folder are not processed, so this checkout's
    # editable wallboard stays out; whether the declared dependencies suffice is scripts/test-floors' job.)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    venv_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    (Path(venv_site) / "wallboard_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    probe = (
        "import sys, os;"
        "venv_site, ours = sys.argv[2], sys.argv[3:];"
        "packages = [p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))];"
        "assert packages == [venv_site, *ours], packages;"  # nothing of the base interpreter's
        "import wallboard, wallboard.resources as r;"
        "assert wallboard.build() == ('compiled' if sys.argv[1] == 'yes' else 'pure Python'), wallboard.build();"
        "assert wallboard.__file__.startswith(venv_site + os.sep), wallboard.__file__;"
        "t, s, d = r.templates_dir(), r.static_dir(), r.seeds_dir();"
        "assert str(t).startswith(venv_site + os.sep), t;"
        "assert (t / 'tv.html').is_file() and (s / 'tv.js').is_file() and (d / 'bank-hotline.toml').is_file();"
        "print('ok')"
    )
    out = subprocess.run(
        [str(python), "-c", probe, "yes" if compiled else "no", venv_site, *ours],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "ok"
    version = subprocess.run(
        [str(venv / "bin" / "wallboard"), "--version"], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert "wallboard" in version.stdout
