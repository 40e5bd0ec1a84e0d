"""A program that cannot load is refused before anything starts, naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgiam.program.loader import load_project
from pgiam.program.preflight import ProgramLoadError, check_program_loads

pytestmark = pytest.mark.unit


def write_program(directory: Path, main: str, **modules: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    (directory / "__main__.py").write_text(main)
    for name, text in modules.items():
        (directory / f"{name}.py").write_text(text)
    return directory


def test_a_program_that_compiles_and_finds_its_imports_loads(tmp_path: Path) -> None:
    program = write_program(tmp_path / "ok", "import json\nimport pulumi\nimport helpers\n"
                            "from components.db import Db\n", helpers="X = 1\n")
    (program / "components").mkdir()
    (program / "components" / "db.py").write_text("class Db: ...\n")
    check_program_loads(load_project(program))


def test_a_syntax_error_in_any_module_is_named_with_file_and_line(tmp_path: Path) -> None:
    program = write_program(tmp_path / "bad", "import helpers\n",
                            helpers="def f(:\n    pass\n")
    with pytest.raises(ProgramLoadError, match=r"helpers\.py:1: "):
        check_program_loads(load_project(program))


def test_a_package_the_entry_imports_that_is_not_installed_is_named(tmp_path: Path) -> None:
    program = write_program(tmp_path / "missing", "import pulumi\n\nimport pulumi_nosuchcloud"
                            " as cloud\n")
    with pytest.raises(ProgramLoadError,
                       match=r"__main__\.py:3: module 'pulumi_nosuchcloud' is not installed"):
        check_program_loads(load_project(program))


def test_optional_imports_are_left_to_the_run(tmp_path: Path) -> None:
    program = write_program(tmp_path / "optional", "try:\n    import nosuchmodule\n"
                            "except ImportError:\n    nosuchmodule = None\n\n\ndef later():\n"
                            "    import alsomissing\n")
    check_program_loads(load_project(program))


def test_a_virtualenv_inside_the_project_is_not_compiled(tmp_path: Path) -> None:
    program = write_program(tmp_path / "venv", "import json\n")
    (program / "venv" / "lib").mkdir(parents=True)
    (program / "venv" / "lib" / "broken.py").write_text("def (:\n")
    check_program_loads(load_project(program))
