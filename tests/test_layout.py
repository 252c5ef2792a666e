"""The layout's promises, checked on the import graph of jobs/ as the source states it.

- jobs/ holds the stage packages, the command layer, the CLI and two small shared
  modules; every folder is a package (a zip on `--py-files` imports no namespace package);
- no import cycle, between modules or between stage packages;
- production code never imports the development tools (jobs.dev), and the wheel
  leaves them out;
- every verb of the CLI has its command module, named after it.
"""

from __future__ import annotations

import ast
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.cli import VERBS
from jobs.dev.package import write_package_zip
from tests.conftest import REPO_ROOT

JOBS = REPO_ROOT / "jobs"
ROOT_MODULES = {"__init__.py", "cli.py", "errors.py"}
Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.Module, modules: set[str]) -> set[str]:
    """Every project module a file imports, at any depth, but under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return  # annotations only: no import happens at run time
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in modules}


def import_graph(package: Path) -> Graph:
    """Module -> the project modules it imports, for the package in folder `package`."""
    paths = {module_name(path, package.parent): path for path in package.rglob("*.py")}
    modules = set(paths)
    return {
        name: imported_modules(ast.parse(path.read_text(encoding="utf-8")), modules) - {name}
        for name, path in paths.items()
    }


def stage(module: str) -> str:
    """`jobs.delivery.plan` -> `jobs.delivery`; the root modules are their own stage."""
    return ".".join(module.split(".")[:2])


def stage_graph(graph: Graph) -> Graph:
    stages: Graph = {}
    for module, imports in graph.items():
        stages.setdefault(stage(module), set()).update(stage(i) for i in imports)
    return {name: imports - {name} for name, imports in stages.items()}


def cycles(graph: Graph) -> Iterator[list[str]]:
    """Each cycle found by a depth-first walk, as the path that closes it."""
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> Iterator[list[str]]:
        if node in path:
            yield [*path[path.index(node) :], node]
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            yield from walk(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        yield from walk(node, [])


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(JOBS)


def test_the_package_root_holds_only_the_cli_the_packages_and_the_errors() -> None:
    files = {p.name for p in JOBS.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == ROOT_MODULES


def test_every_folder_of_the_package_is_a_package() -> None:
    folders = [
        d
        for d in JOBS.rglob("*")
        if d.is_dir() and any(d.glob("*.py")) and "__pycache__" not in d.parts
    ]
    assert [d for d in folders if not (d / "__init__.py").exists()] == []


def test_no_module_imports_itself_around_a_cycle(graph: Graph) -> None:
    assert list(cycles(graph)) == []


def test_no_stage_package_depends_on_itself_around_a_cycle(graph: Graph) -> None:
    assert list(cycles(stage_graph(graph))) == []


def test_production_code_never_imports_the_development_tools(graph: Graph) -> None:
    offending = {
        module: sorted(i for i in imports if i.startswith("jobs.dev"))
        for module, imports in graph.items()
        if not module.startswith("jobs.dev")
    }
    assert {module: dev for module, dev in offending.items() if dev} == {}


def test_every_verb_has_its_command_module_named_after_it() -> None:
    for name, verb in VERBS.items():
        path = REPO_ROOT / (verb.module(name).replace(".", "/") + ".py")
        assert path.is_file(), f"{name}: {path}"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        defined |= {
            a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names
        }
        assert {"add_arguments", "run"} <= defined, name


def test_a_cycle_is_found_when_there_is_one(tmp_path: Path) -> None:
    """The checks above can fail: two modules importing each other are reported."""
    package = tmp_path / "jobs"
    (package / "a").mkdir(parents=True)
    (package / "b").mkdir()
    for path, text in {
        "__init__.py": "",
        "a/__init__.py": "",
        "b/__init__.py": "",
        "a/one.py": "from jobs.b.two import x\n",
        "b/two.py": "def f():\n    from jobs.a.one import y\n",
    }.items():
        (package / path).write_text(text)

    graph = import_graph(package)

    assert list(cycles(graph)) == [["jobs.a.one", "jobs.b.two", "jobs.a.one"]]
    assert list(cycles(stage_graph(graph))) == [["jobs.a", "jobs.b", "jobs.a"]]


def test_the_wheel_and_the_package_zip_leave_the_development_tools_out(tmp_path: Path) -> None:
    uv = REPO_ROOT / ".uv" / "bin" / "uv"
    subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(tmp_path), "--quiet", str(REPO_ROOT)],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("campaigns-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert "jobs/cli.py" in names and "jobs/commands/launch.py" in names
    assert "jobs/templates/static/preview.html" in names
    assert [name for name in names if name.startswith("jobs/dev/")] == []
    # the zip for `spark-submit --py-files` holds exactly the wheel's package
    shipped = zipfile.ZipFile(write_package_zip(REPO_ROOT, tmp_path / "zip")).namelist()
    assert sorted(shipped) == sorted(name for name in names if name.startswith("jobs/"))
