# The two ways in (see README): `make demo` runs the pipeline end to end on the
# embedded local default; `make test` runs lint, type checks and the tests. Both build the
# environment first when it is missing or stale.

SHELL := /bin/bash
UV_VERSION := 0.13.9
VENV := .venv
STAMP := $(VENV)/.synced
# Airflow has its own environment: its pins conflict with Flink's (docs/operations.md).
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.synced
LIQUIDJS := tests/liquidjs/node_modules/liquidjs/package.json
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo demo-cluster test lint env check-java system-packages clean-env airflow-env

demo: $(STAMP)
	$(VENV)/bin/campaigns demo

# The same demo with the Spark jobs on a standalone cluster, the delivery on a Flink
# session cluster and the warehouse in an S3-compatible store, all started on loopback
# and stopped after it (docs/cluster.md).
demo-cluster: $(STAMP)
	$(VENV)/bin/campaigns demo --on-clusters

# Two workers, a test file each at a time (module fixtures are built once): most tests
# wait on JVM starts, subprocesses and rate limits, so two overlap on two cores. The
# Airflow suite runs in its own environment as one item of this run (tests/test_pipelines.py).
# The tests' JVMs (Spark, Flink, beeline) live seconds to minutes: the C1 compiler alone
# and the serial collector spend less CPU on them (the adaptive test: 202 -> 155 CPU s).
TEST_JAVA_OPTIONS := -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
test: lint system-packages $(LIQUIDJS) $(AIRFLOW_STAMP)
	JAVA_TOOL_OPTIONS="$(TEST_JAVA_OPTIONS)" $(VENV)/bin/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check jobs tests pipelines
	$(VENV)/bin/ruff format --check jobs tests pipelines
	$(VENV)/bin/mypy

env: $(STAMP)

airflow-env: $(AIRFLOW_STAMP)

# Spark 4.1 and Flink 2.3 both run on Java 17; fail early with what to install.
check-java:
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	if [ -z "$$v" ]; then \
	  echo "Java 17 is required (Spark and Flink run on it) and 'java' was not found."; \
	  echo "Install it with: apt-get install -y openjdk-17-jre-headless"; exit 1; \
	elif [ "$$v" -lt 17 ]; then \
	  echo "Java 17 is required; found Java $$v. Install openjdk-17-jre-headless and put it first on PATH."; exit 1; \
	fi

# Debian packages the tests drive for real: Chromium (the preview page and the dashboards,
# through Playwright; no browser is downloaded), Prometheus with promtool and the
# Pushgateway (the metrics and alert tests). Installed once, as root, without starting
# their services.
DEBIAN_PACKAGES := chromium prometheus prometheus-pushgateway
DEBIAN_COMMANDS := chromium prometheus promtool prometheus-pushgateway
system-packages:
	@missing=""; for c in $(DEBIAN_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's $(DEBIAN_PACKAGES) for the tests (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES) >/dev/null; \
	  else \
	    echo "The tests need:$$missing. Install them with: sudo apt-get install -y $(DEBIAN_PACKAGES)"; exit 1; \
	  fi; \
	fi

# LiquidJS, the second engine every template is rendered in (tests/templates/test_engines.py),
# from the npm registry with the machine's Node.js; the lock file pins it.
$(LIQUIDJS): tests/liquidjs/package.json tests/liquidjs/package-lock.json
	@command -v npm >/dev/null || { echo "The template engine test needs Node.js and npm: sudo apt-get install -y nodejs npm"; exit 1; }
	cd tests/liquidjs && npm ci --no-audit --no-fund --loglevel=error
	@touch $(LIQUIDJS)

# uv comes from PyPI into a private tool environment when the machine has none.
.uv/bin/uv:
	@command -v python3.11 >/dev/null || { echo "Python 3.11 is required: install python3.11 (and python3.11-venv)."; exit 1; }
	python3.11 -m venv .uv
	.uv/bin/pip install --quiet "uv==$(UV_VERSION)"

# The jars Spark loads (Delta, and S3A for a warehouse in a bucket: 21 MB in all) are
# fetched once into the user's cache (jobs/warehouse/jars.py).
$(STAMP): pyproject.toml uv.lock | check-java .uv/bin/uv
	.uv/bin/uv sync --frozen --python python3.11
	$(VENV)/bin/python -m jobs.warehouse.jars --object-store >/dev/null
	@touch $(STAMP)

$(AIRFLOW_STAMP): pipelines/pyproject.toml pipelines/uv.lock | .uv/bin/uv
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(AIRFLOW_VENV) \
	  .uv/bin/uv sync --frozen --python python3.11 --project pipelines
	@touch $(AIRFLOW_STAMP)

clean-env:
	rm -rf $(VENV) $(AIRFLOW_VENV) .uv
