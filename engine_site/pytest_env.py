"""Loaded with `-p engine_site.pytest_env` before Django starts: tests get their own data dir."""

import os
import tempfile

os.environ.setdefault("ENGINE_DATA_DIR", tempfile.mkdtemp(prefix="engine-test-"))
os.environ.setdefault("XDG_DATA_HOME", os.environ["ENGINE_DATA_DIR"])
os.environ.setdefault("XDG_CONFIG_HOME", os.environ["ENGINE_DATA_DIR"])
