"""The jars Spark loads for the warehouse, fetched once from a Maven repository and kept.

delta-spark is Spark's Delta path, and Hadoop's S3A reaches object storage. Their jars
are not in the pyspark package, so the project fetches the ones it needs (checked
against the digests below) into a cache that outlives the checkout; every later
session reads them from disk. Resolving them with `spark.jars.packages` instead would
pull dozens more artifacts (33 for Delta; the AWS SDK's 600 MB bundle for S3A), some of
them older copies of jars pyspark already ships, and ask the repository again on every
start.

- Behind a proxy: set `HTTPS_PROXY` (honoured here as by every Python client).
- Through a mirror (Artifactory, Nexus): set `CAMPAIGNS_MAVEN_REPOSITORY` to its URL.
- Where Delta is built in (Databricks) or the cluster image has the jars: set the
  profile's `spark.warehouse_jars: provided`, and nothing is fetched.
"""

from __future__ import annotations

import hashlib
import os
import sys
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


def _jars(lock: str) -> tuple[Jar, ...]:
    """Jars from lines of `group:artifact:version sha256`."""
    jars = []
    for line in lock.strip().splitlines():
        coordinates, sha256 = line.split()
        group, artifact, version = coordinates.split(":")
        jars.append(Jar(group, artifact, version, sha256))
    return tuple(jars)


# delta-spark for Spark 4.1 (Scala 2.13) and what it needs beyond pyspark's own jars.
DELTA_JARS = _jars(
    f"""
io.delta:delta-spark_4.1_2.13:{DELTA_VERSION} 75a9400986853c061f5109f012547de2545a5759e5e752e5ef633dabe16a4f10
io.delta:delta-storage:{DELTA_VERSION} c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc
org.roaringbitmap:RoaringBitmap:0.9.25 73f8e24f636a1ba6509decacbb5605c833eb5ead6db3971722ffcc2543b3e393
org.roaringbitmap:shims:0.9.25 0b82ed6cb1caf0706304b42358d568eb6faf190eadea7f2b2d365cb63156b40d
"""
)

# Hadoop's S3A file system for pyspark's Hadoop 3.4.2 client, with the AWS SDK v2
# modules it calls, for warehouses on object storage (`s3://`, read as `s3a://`).
# hadoop-aws asks for the SDK's 600 MB shaded bundle; these 34 jars (11 MB) are what
# S3A reads and writes with, its HTTP client, Netty and logging being pyspark's own.
S3A_JARS = _jars(
    """
org.apache.hadoop:hadoop-aws:3.4.2 d2d24e6b715b5656b9d238bf13b6682a07e2004dd36aad74a73aeb854319f4d9
org.reactivestreams:reactive-streams:1.0.4 f75ca597789b3dac58f61857b9ac2e1034a68fa672db35055a8fb4509e325f28
org.wildfly.openssl:wildfly-openssl:2.1.4.Final 95decbc5d088b40e85f58d7726b8c8f4e3be6312a0f2660c2d714a23cee80279
software.amazon.awssdk:annotations:2.29.52 8cd8bd8afd7eca5a367f69fd87427f6d9f3e7d359962122da24d71f1963f00cd
software.amazon.awssdk:apache-client:2.29.52 c96494be30ecac6f0ab7a35fdd91a4c77ca8a5daf62f3d9d84644ef0f0524dc6
software.amazon.awssdk:arns:2.29.52 f5a4d1d9b4e4fc63c9bda49bcf1c59d23fd876b276c6b43aaca12969337303a6
software.amazon.awssdk:auth:2.29.52 4d8143b6198dc7a530c2ccdd813129c132b96736086c0d4fea85480b9bdbc5fe
software.amazon.awssdk:aws-core:2.29.52 eb560c064fbaac7e2e7f4a77ac343d3083bea0d7f6e2c69ba022d3f3e859be90
software.amazon.awssdk:aws-query-protocol:2.29.52 1b117672963ee5059c45f2aadb110f191b578d108d8f08d7c7a59e6c0b098a8e
software.amazon.awssdk:aws-xml-protocol:2.29.52 daf87b429373ad586d165003b5b1d4fe498c6472eb65ec9a9e2aa7d56f3917dd
software.amazon.awssdk:checksums-spi:2.29.52 21193b9b648843dcaff493f0dd80abab9ee6871b203b9218120554698d8f7b8a
software.amazon.awssdk:checksums:2.29.52 bca99ff25c9b917d6be03e5dce78ad5328e7dca485e96024fa8476e4192a800a
software.amazon.awssdk:crt-core:2.29.52 4e1f33de21b688695fec91b977ddfa99e9d376edcbad06a62b0c138c60b37de4
software.amazon.awssdk:endpoints-spi:2.29.52 e54f246c668d70b55cffe0c8fad18d4465e74e22db75139918bd30610093d1e6
software.amazon.awssdk:http-auth-aws-eventstream:2.29.52 565a4aacce955c5ffaed551f6faaaa958e9e92b2f8514c8482f664edb2bab576
software.amazon.awssdk:http-auth-aws:2.29.52 7ae124e81ac0c2860bb61fdde34a388dbe823fef8509dd46a6bec805ada90308
software.amazon.awssdk:http-auth-spi:2.29.52 7a2168c5a7baa856d7ae9f9c4f7522d2db9f1361108c38f5b6ece66f249e6a2d
software.amazon.awssdk:http-auth:2.29.52 d8aa3bd376aaec7196396e65fe8755f1fdd169e51357f8128ecdc7d23a687450
software.amazon.awssdk:http-client-spi:2.29.52 8ea61ce3b527779fbfe119e0775c4b7cfdf274a979b1e50596a634685a5b6542
software.amazon.awssdk:identity-spi:2.29.52 85104635abf9e5c044aaf7f8951b63efc2ef82051b5ee303571ee2e1fd8b46d0
software.amazon.awssdk:json-utils:2.29.52 2652cdb3668311bcff6e643c8612b9fea266423ae1ce33743c84dd7f77904311
software.amazon.awssdk:metrics-spi:2.29.52 1db2e3da338148ee40a716e1733c9a5b99e9e6daa4db3aa8bd7e718adafa2510
software.amazon.awssdk:profiles:2.29.52 fef84619d101838ba45f48d0caddb09a85d9ed8bf869095bd7d2064796856cf7
software.amazon.awssdk:protocol-core:2.29.52 7b32e41a3743b422d2edec1670f60b4c1e512fcd5ab7a53fef20742d6b9104d1
software.amazon.awssdk:regions:2.29.52 5ee0e26277c679ffa70d83923b0d5f77a53066ecde8610f28be1856947d60eaf
software.amazon.awssdk:retries-spi:2.29.52 a4218ea742fc9e07a620629d7a258bfd92b8ea3ef75f1b99193d0898ca3efe99
software.amazon.awssdk:retries:2.29.52 ca3752ba31399721980c6398992921ff5aa164e084b4c14484333df58c76a353
software.amazon.awssdk:s3-transfer-manager:2.29.52 0c9e654637247187a7e2494eb7a8799477a772a7d554cd3ae787cd3e3bae3c55
software.amazon.awssdk:s3:2.29.52 abaedea7e68063e9c4ab090f80d14b9884c57b50953bfe6e5acaa23025609efa
software.amazon.awssdk:sdk-core:2.29.52 ea8e9856569f85075a8a806d0481c4bd848c98b24fd6d706fc0b5883fc4604dc
software.amazon.awssdk:third-party-jackson-core:2.29.52 eaece3eb60beb8ec09d8a4f48d5bff4110010b03cc23688bdcf2af2eb075cac6
software.amazon.awssdk:utils:2.29.52 f150a38f2fec14ced2de6459bfe804f647c88baa573b218646ef89b436a29d42
software.amazon.eventstream:eventstream:1.0.1 0c37d8e696117f02c302191b8110b0d0eb20fa412fce34c3a269ec73c16ce822
software.amazon.s3.analyticsaccelerator:analyticsaccelerator-s3:1.2.1 11029552e37408e41e689b20150f4b372e0b4f232de321ccafd0fcf443cdfb5a
"""
)


def jars_dir() -> Path:
    """`$CAMPAIGNS_JARS_DIR`, else the user's cache (shared by every checkout)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "campaigns" / "jars"


def warehouse_jars(*, object_store: bool, directory: Path | None = None) -> list[Path]:
    """The local paths of the jars Spark needs for the warehouse (Delta, and S3A when it
    is on object storage), fetching any that are missing or corrupt."""
    directory = directory or jars_dir()
    repository = os.environ.get(REPOSITORY_ENV) or MAVEN_CENTRAL
    wanted = DELTA_JARS + (S3A_JARS if object_store else ())
    return [_cached(jar, directory, repository) for jar in wanted]


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
            f"jar in {directory} yourself, or set `spark.warehouse_jars: provided` in the profile "
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
    # `python -m jobs.warehouse.jars [--object-store]`: fetch ahead (make env does), and
    # print the list `spark-submit --jars` takes (a JVM started by spark-submit has its
    # class path already).
    paths = warehouse_jars(object_store="--object-store" in sys.argv[1:])
    print(",".join(str(path) for path in paths))
