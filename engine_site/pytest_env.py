"""Loaded with `-p engine_site.pytest_env` before Django starts: tests get their own data dir.

Also under pytest-xdist: each worker process gets a data dir of its own (config.json, logs, keys),
since workers inherit the controller's environment.
"""

import os
import tempfile

if (
    os.environ.get("PYTEST_XDIST_WORKER")
    and os.environ.get("ENGINE_TEST_DATA_DIR_OF") != os.environ["PYTEST_XDIST_WORKER"]
):
    os.environ["ENGINE_DATA_DIR"] = tempfile.mkdtemp(
        prefix=f"engine-test-{os.environ['PYTEST_XDIST_WORKER']}-"
    )
    os.environ["XDG_DATA_HOME"] = os.environ["XDG_CONFIG_HOME"] = os.environ["ENGINE_DATA_DIR"]
    os.environ["ENGINE_TEST_DATA_DIR_OF"] = os.environ["PYTEST_XDIST_WORKER"]
os.environ.setdefault("ENGINE_DATA_DIR", tempfile.mkdtemp(prefix="engine-test-"))
os.environ.setdefault("XDG_DATA_HOME", os.environ["ENGINE_DATA_DIR"])
os.environ.setdefault("XDG_CONFIG_HOME", os.environ["ENGINE_DATA_DIR"])
