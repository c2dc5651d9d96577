"""The docs a user reads first stay true to the code."""

from __future__ import annotations

from pathlib import Path

from wallboard.settings_doc import render

ROOT = Path(__file__).parent.parent


def test_configuration_page_is_generated_from_the_settings_tables() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date: run scripts/gen-config-doc"
    )


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/demo" in readme and "scripts/test" in readme
