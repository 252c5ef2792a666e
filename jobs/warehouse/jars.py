"""The Delta Lake jars Spark loads, fetched once from a Maven repository and kept.

delta-spark is Spark's Delta path. Its jars are not in the pyspark package, so the
project fetches the four it needs (checked against the digests below) into a cache
that outlives the checkout; every later session reads them from disk. Resolving them
with `spark.jars.packages` instead would pull 33 artifacts, some of them older copies
of jars pyspark already ships, and ask the repository again on every start.

- Behind a proxy: set `HTTPS_PROXY` (honoured here as by every Python client).
- Through a mirror (Artifactory, Nexus): set `CAMPAIGNS_MAVEN_REPOSITORY` to its URL.
- Where Delta is built in (Databricks) or the cluster image has the jars: set the
  profile's `spark.delta_jars: provided`, and nothing is fetched.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jobs.warehouse.errors import WarehouseError

DELTA_VERSION = "4.4.0"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
REPOSITORY_ENV = "CAMPAIGNS_MAVEN_REPOSITORY"
CACHE_ENV = "CAMPAIGNS_JARS_DIR"


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str) -> str:
        folder = f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}"
        return f"{repository.rstrip('/')}/{folder}/{self.file_name}"


# delta-spark for Spark 4.1 (Scala 2.13) and what it needs beyond pyspark's own jars.
DELTA_JARS = (
    Jar(
        "io.delta",
        "delta-spark_4.1_2.13",
        DELTA_VERSION,
        "75a9400986853c061f5109f012547de2545a5759e5e752e5ef633dabe16a4f10",
    ),
    Jar(
        "io.delta",
        "delta-storage",
        DELTA_VERSION,
        "c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc",
    ),
    Jar(
        "org.roaringbitmap",
        "RoaringBitmap",
        "0.9.25",
        "73f8e24f636a1ba6509decacbb5605c833eb5ead6db3971722ffcc2543b3e393",
    ),
    Jar(
        "org.roaringbitmap",
        "shims",
        "0.9.25",
        "0b82ed6cb1caf0706304b42358d568eb6faf190eadea7f2b2d365cb63156b40d",
    ),
)


def jars_dir() -> Path:
    """`$CAMPAIGNS_JARS_DIR`, else the user's cache (shared by every checkout)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "campaigns" / "jars"


def delta_jars(directory: Path | None = None) -> list[Path]:
    """The local paths of the Delta jars, fetching any that are missing or corrupt."""
    directory = directory or jars_dir()
    repository = os.environ.get(REPOSITORY_ENV) or MAVEN_CENTRAL
    return [_cached(jar, directory, repository) for jar in DELTA_JARS]


def _cached(jar: Jar, directory: Path, repository: str) -> Path:
    path = directory / jar.file_name
    if path.is_file() and _sha256(path) == jar.sha256:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".jar.{os.getpid()}.part")
    url = jar.url(repository)
    try:
        with urllib.request.urlopen(url, timeout=60) as answer, partial.open("wb") as out:
            while chunk := answer.read(1 << 20):
                out.write(chunk)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise WarehouseError(
            f"could not fetch {jar.group}:{jar.artifact}:{jar.version} from {url}: {error}. "
            f"Set {REPOSITORY_ENV} to a reachable Maven mirror (or HTTPS_PROXY), or put the "
            f"jar in {directory} yourself, or set `spark.delta_jars: provided` in the profile "
            "where the cluster has Delta."
        ) from error
    if _sha256(partial) != jar.sha256:
        partial.unlink(missing_ok=True)
        raise WarehouseError(
            f"{url} does not have the expected SHA-256 {jar.sha256}; the repository serves "
            f"another file under that name. Check {REPOSITORY_ENV}."
        )
    partial.replace(path)  # atomic: concurrent sessions never see half a jar
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":
    # `python -m jobs.warehouse.jars`: fetch ahead (make env does), and print the list
    # `spark-submit --jars` takes (a JVM started by spark-submit has its classpath already).
    print(",".join(str(path) for path in delta_jars()))
