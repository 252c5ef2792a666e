"""A Spark standalone cluster, a Flink session cluster and an S3-compatible object store
on loopback, from the pyspark, apache-flink and moto packages, for the cluster tests and
`campaigns demo --on-clusters`.

Every process is started in the foreground in its own process group, on free ports,
and stopped by its id when the context ends, even if what ran inside failed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyflink
import pyspark
import requests

from jobs.config.loader import default_conf_dir

SPARK_HOME = Path(pyspark.__file__).parent
FLINK_HOME = Path(pyflink.__file__).parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not met within {timeout} s")


def spark_env() -> dict[str, str]:
    """Spark's scripts find their installation through SPARK_HOME: the pyspark package."""
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


@dataclass(frozen=True)
class SparkCluster:
    master_url: str
    ui_url: str
    work_dir: Path

    def state(self) -> dict[str, Any]:
        """The master's own account of its workers and applications (its JSON page)."""
        state: dict[str, Any] = requests.get(f"{self.ui_url}/json/", timeout=5).json()
        return state

    def completed_apps(self) -> list[dict[str, Any]]:
        return list(self.state()["completedapps"])


@contextmanager
def spark_standalone(folder: Path, *, workers: int = 1) -> Iterator[SparkCluster]:
    """A master and `workers` workers (2 cores, 3 GiB each) on 127.0.0.1."""
    work_dir = folder / "spark-work"
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **spark_env(),
        "SPARK_LOG_DIR": str(folder / "spark-logs"),
        "SPARK_WORKER_DIR": str(work_dir),
    }
    port, ui_port = free_port(), free_port()
    cluster = SparkCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", work_dir)
    spark_class = str(BIN / "spark-class")
    with ExitStack() as stack:
        stack.enter_context(
            foreground(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(ui_port)],
                env, folder / "spark-master.log",
            )
        )  # fmt: skip
        wait_for(lambda: answers(cluster.state), timeout=90, what="the Spark master answering")
        for index in range(workers):
            stack.enter_context(
                foreground(
                    [spark_class, "org.apache.spark.deploy.worker.Worker", cluster.master_url,
                     "--host", "127.0.0.1", "--port", str(free_port()),
                     "--webui-port", str(free_port()), "--cores", "2", "--memory", "3g",
                     "--work-dir", str(work_dir)],
                    env, folder / f"spark-worker-{index}.log",
                )
            )  # fmt: skip
        wait_for(
            lambda: cluster.state()["aliveworkers"] == workers,
            timeout=90,
            what="the Spark workers registering",
        )
        yield cluster


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible server (moto's) with one bucket, and test credentials."""

    endpoint: str
    bucket: str
    access_key: str = "campaigns-dev"
    secret_key: str = "campaigns-dev-secret"
    region: str = "us-east-1"

    def env(self, warehouse: str = "warehouse") -> dict[str, str]:
        """The variables the profiles' `storage_options_env` read, and a warehouse in
        the bucket ($CAMPAIGNS_WAREHOUSE_URI)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "CAMPAIGNS_S3_ENDPOINT": self.endpoint,
            "CAMPAIGNS_S3_CONDITIONAL_PUT": "etag",
            "CAMPAIGNS_WAREHOUSE_URI": f"s3://{self.bucket}/{warehouse}",
        }

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            endpoint_override=self.endpoint,
            allow_bucket_creation=True,
        )

    def keys(self, prefix: str) -> list[str]:
        """Every object under `prefix` in the bucket."""
        selector = pafs.FileSelector(f"{self.bucket}/{prefix}", recursive=True)
        return [info.path for info in self.filesystem().get_file_info(selector)]


@contextmanager
def object_store(folder: Path, *, bucket: str = "campaigns") -> Iterator[ObjectStore]:
    """moto's S3 server on 127.0.0.1 with `bucket` created. It honours the conditional
    puts (`If-None-Match: *`) every delta-rs commit is, so two writers racing for one
    table version get one success and one retry, as on S3 itself."""
    store = ObjectStore(f"http://127.0.0.1:{free_port()}", bucket)
    port = store.endpoint.rsplit(":", 1)[1]
    with foreground(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", port],
        dict(os.environ),
        folder / "object-store.log",
    ):
        wait_for(lambda: answers(lambda: requests.get(store.endpoint, timeout=2)), timeout=60,
                 what="the object store answering")  # fmt: skip
        store.filesystem().create_dir(bucket)
        yield store


@dataclass(frozen=True)
class FlinkSession:
    host: str
    port: int
    conf_dir: Path
    log_dir: Path
    lib_dir: Path

    @property
    def rest_address(self) -> str:
        """host:port, what `flink run -m` takes."""
        return f"{self.host}:{self.port}"

    def get(self, path: str) -> Any:
        return requests.get(f"http://{self.rest_address}{path}", timeout=5).json()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FLINK_HOME": str(FLINK_HOME),
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.log_dir),
            "FLINK_LIB_DIR": str(self.lib_dir),
        }

    def remote_settings(self) -> dict[str, str]:
        """What a PyFlink job started in a Python process sets to run on this cluster."""
        return {
            "execution.target": "remote",
            "rest.address": self.host,
            "rest.port": str(self.port),
        }


@contextmanager
def flink_session(folder: Path, conf_dir: Path | None = None) -> Iterator[FlinkSession]:
    """A JobManager and one TaskManager configured by the project's conf/flink/config.yaml."""
    flink_conf = folder / "flink-conf"
    flink_conf.mkdir(parents=True, exist_ok=True)
    shutil.copy((conf_dir or default_conf_dir()) / "flink" / "config.yaml", flink_conf)
    for logging_file in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
        shutil.copy(FLINK_HOME / "conf" / logging_file, flink_conf / logging_file)
    rest_port = free_port()
    settings = {
        "rest.port": rest_port,
        "jobmanager.rpc.port": free_port(),
        "blob.server.port": free_port(),
        "taskmanager.rpc.port": free_port(),
        "taskmanager.data.port": free_port(),
    }
    ports = [part for key, value in settings.items() for part in ("-D", f"{key}={value}")]
    session = FlinkSession(
        "127.0.0.1", rest_port, flink_conf, folder / "flink-logs", _python_lib(folder)
    )
    with ExitStack() as stack:
        for script in ("jobmanager.sh", "taskmanager.sh"):
            stack.enter_context(
                foreground(
                    ["bash", str(FLINK_HOME / "bin" / script), "start-foreground", *ports],
                    session.env(), folder / f"flink-{script.removesuffix('.sh')}.log",
                )
            )  # fmt: skip
        wait_for(lambda: _task_managers(session) == 1, timeout=120, what="the Flink TaskManager")
        yield session


def _python_lib(folder: Path) -> Path:
    """The distribution's lib/ plus flink-python from opt/, as a PyFlink cluster is set
    up (the package's own folders are left untouched)."""
    lib = folder / "flink-lib"
    shutil.rmtree(lib, ignore_errors=True)
    lib.mkdir(parents=True)
    for jar in [*(FLINK_HOME / "lib").glob("*.jar"), *(FLINK_HOME / "opt").glob("flink-python-*")]:
        (lib / jar.name).symlink_to(jar)
    return lib


def answers(probe: Callable[[], Any]) -> bool:
    try:
        probe()
    except requests.ConnectionError:
        return False
    return True


def _task_managers(session: FlinkSession) -> int:
    try:
        return len(session.get("/taskmanagers")["taskmanagers"])
    except (requests.ConnectionError, KeyError, ValueError):
        return 0


@contextmanager
def foreground(args: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    """`args` running in its own process group, its output in `log`; stopped by its id."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
