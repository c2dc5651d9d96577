"""Build hook: compile the pure hot-path modules with mypyc where this machine can (docs/deployment.md).

Everything else about the package is in pyproject.toml.  The five modules
below are plain, fully typed Python (mypy --strict); mypyc turns them into a C
extension that runs parse + apply about 30% faster (docs/performance.md),
the way black and mypy ship themselves.  The same source runs unchanged when
it is not compiled.

WALLBOARD_COMPILE:
  auto (default)  compile; if mypyc or the C compiler is missing or fails, say so
                  and install the pure-Python modules (same results, slower)
  1               compile, and fail the build if that fails
  0               do not compile

Editable installs (``pip install -e .``, what scripts/test uses) are never
compiled: a compiled module would shadow the source being edited.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

COMPILED_MODULES = [
    "wallboard/events.py",
    "wallboard/engine.py",
    "wallboard/views.py",
    "wallboard/periods.py",
    "wallboard/localday.py",
]
MODE = os.environ.get("WALLBOARD_COMPILE", "auto").strip().lower()


def say(text: str) -> None:
    print(f"wallboard build: {text}", file=sys.stderr)


def compiled_extensions() -> list[Extension]:
    if MODE not in ("auto", "1", "0"):
        raise SystemExit(f"WALLBOARD_COMPILE must be auto, 1 or 0, not {MODE!r}")
    commands = set(sys.argv[1:])
    # Only a build of the package itself compiles (not the metadata steps pip runs first), and never an
    # editable one.
    if (
        MODE == "0"
        or not commands & {"bdist_wheel", "build", "build_ext", "install"}
        or commands & {"editable_wheel", "develop"}
    ):
        return []
    try:
        from mypyc.build import mypycify

        return list(mypycify(COMPILED_MODULES, opt_level="3"))
    except (Exception, SystemExit) as exc:  # mypyc missing, or its type check refusing (it exits)
        if MODE == "1":
            raise
        say(f"not compiling ({type(exc).__name__}: {exc}); installing the pure-Python modules")
        return []


class OptionalBuildExt(build_ext):
    """All or nothing: if any compiled module fails to build, none is installed (unless WALLBOARD_COMPILE=1)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no C compiler, no Python headers, ...
            if MODE == "1":
                raise
            say(f"C build failed ({type(exc).__name__}: {exc}); installing the pure-Python modules")
            for ext in self.extensions:
                for path in (
                    self.get_ext_fullpath(ext.name),
                    os.path.join(self.build_lib, self.get_ext_filename(ext.name)),
                ):
                    Path(path).unlink(missing_ok=True)
            self.extensions = []


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
