"""One version string: the package's, and the same in pyproject, the template and the alerts."""

from __future__ import annotations

import re
import tomllib

from recorder_guard import __version__
from recorder_guard.render.email import render_email
from tests.conftest import alert_for
from tests.support import ROOT, load_template, sample_events

SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def test_the_version_is_semantic() -> None:
    assert SEMVER.match(__version__), __version__


def test_pyproject_has_the_package_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__


def test_the_template_metadata_has_the_package_version() -> None:
    application = load_template()["Metadata"]["AWS::ServerlessRepo::Application"]
    assert application["SemanticVersion"] == __version__
    assert application["SpdxLicenseId"] == "Apache-2.0"
    assert (ROOT / application["LicenseUrl"]).exists()


def test_the_alert_footer_has_the_package_version() -> None:
    email = render_email(alert_for(sample_events()["stop_recorder_assumed_role.json"]))
    assert f"\nrecorder-guard {__version__}. " in email


def test_the_changelog_and_license_agree() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{__version__}]" in changelog
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == {"text": "Apache-2.0"}
