"""wallboard: a real-time supervisor wallboard for contact centres."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "build"]


def build() -> str:
    """'compiled' when the hot-path modules are the mypyc-compiled ones (setup.py), else 'pure Python'."""
    from wallboard import engine, events

    compiled = all(str(m.__file__).endswith((".so", ".pyd")) for m in (engine, events))
    return "compiled" if compiled else "pure Python"
