"""The image recipe (app/Dockerfile, app/requirements.txt): no Docker engine runs here, so the
properties the issue asks for are read from the files, and the app's imports are checked
against what the image installs."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
# import name -> distribution in requirements.txt
DISTRIBUTIONS = {"flask": "flask", "werkzeug": "flask", "jinja2": "flask", "waitress": "waitress",
                 "boto3": "boto3", "botocore": "boto3", "psycopg2": "psycopg2"}


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), grouped by stage."""
    text = re.sub(r"\\\n", " ", (APP / "Dockerfile").read_text())
    result: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def requirements() -> dict[str, str]:
    reqs = {}
    for line in (APP / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower()
            reqs[name] = line[len(name):]
    return reqs


def test_the_image_is_multi_stage_on_python_3_11_slim():
    froms = [stage[0] for stage in stages()]
    assert len(froms) >= 2
    assert all(re.match(r"FROM python:3\.11-slim(-\w+)?\b", f) for f in froms)


def test_the_final_stage_has_no_build_tools():
    final = " ".join(stages()[-1])
    for tool in ("gcc", "build-essential", "libpq-dev", "libc6-dev", "make "):
        assert tool not in final


def test_the_final_stage_runs_as_a_numeric_non_root_user():
    users = [line.split()[1] for line in stages()[-1] if line.upper().startswith("USER ")]
    assert users, "no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_the_rds_ca_bundle_is_fetched_at_build_time_readable_by_the_app():
    adds = [line for line in stages()[-1] if line.upper().startswith("ADD ")]
    bundle = [a for a in adds if "truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in a]
    assert bundle and bundle[0].endswith("/etc/ssl/certs/rds-global-bundle.pem")
    assert "--chmod=0644" in bundle[0]


def test_the_image_serves_the_app_on_8080():
    final = stages()[-1]
    assert 'CMD ["python", "-m", "app", "serve"]' in final
    assert "EXPOSE 8080" in final


def test_the_image_copies_only_what_dockerignore_allows():
    ignored = (APP / ".dockerignore").read_text()
    assert "__pycache__" in ignored and "Dockerfile" in ignored


def test_requirements_match_the_project_ranges():
    reqs = requirements()
    pyproject = (APP.parent / "pyproject.toml").read_text()
    for name in ("flask", "waitress", "boto3"):
        assert f'"{name}{reqs[name]}"' in pyproject.lower(), name
    assert f'"psycopg2-binary{reqs["psycopg2"]}"' in pyproject


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in APP.glob("*.py")))
def test_the_app_imports_only_the_stdlib_itself_and_the_image_requirements(module):
    reqs = requirements()
    for name in _imports(APP / module):
        if name in sys.stdlib_module_names or name == "app":
            continue
        assert name in DISTRIBUTIONS and DISTRIBUTIONS[name] in reqs, f"{module} imports {name}"


def test_the_image_ships_the_templates_and_static_files():
    assert (APP / "templates" / "index.html").is_file()
    assert {"app.js", "app.css"} <= {p.name for p in (APP / "static").iterdir()}
