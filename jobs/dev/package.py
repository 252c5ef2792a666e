"""The production package as a zip, for `spark-submit --py-files`.

PySpark puts only `.zip`, `.egg` and `.jar` files of `--py-files` on the executors'
path, so a wheel is not enough there. The zip holds exactly what the wheel holds:
the packages and exclusions are read from pyproject.toml, declared once.
"""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

# The checkout this development tool runs from.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_NEVER_SHIPPED = ("__pycache__", ".pyc")


def write_package_zip(project_root: Path, out_dir: Path) -> Path:
    """Write `<name>-<version>.zip` of the wheel's packages into `out_dir`; returns it."""
    pyproject = tomllib.loads((project_root / "pyproject.toml").read_text("utf-8"))
    project = pyproject["project"]
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    excluded = [project_root / path for path in wheel.get("exclude", [])]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{project['name']}-{project['version']}.zip"
    partial = target.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in wheel["packages"]:
            for path in sorted((project_root / package).rglob("*")):
                if path.is_file() and _shipped(path, excluded):
                    archive.write(path, path.relative_to(project_root).as_posix())
    partial.replace(target)
    return target


def _shipped(path: Path, excluded: list[Path]) -> bool:
    if any(part == _NEVER_SHIPPED[0] for part in path.parts) or path.suffix == _NEVER_SHIPPED[1]:
        return False
    return not any(path.is_relative_to(folder) for folder in excluded)
