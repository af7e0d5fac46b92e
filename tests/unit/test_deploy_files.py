"""The server deployment files in deploy/ agree with the code: services, health checks, commands and
every environment variable they set. Static checks, no network, no Docker daemon needed;
`docker compose config` runs too when the compose plugin is installed (docs/deploy.md)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
APP_SERVICES = ("migrate", "web", "engine")
SOURCE_PACKAGES = ("engine_site", "trading", "risk", "exchanges", "dashboard", "desktop")

# What production needs from the environment (README "Production layout", docs/deploy.md): every
# deployment template must carry each of these.
PRODUCTION_VARS = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "ENGINE_WEBHOOK_SECRET",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "ENGINE_HTTPS",
}
# Read by Python or Django themselves, not by our code.
RUNTIME_VARS = {"PATH", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "DJANGO_SETTINGS_MODULE"}
# Read by the other containers or by compose's own substitution, never by the app.
INFRA_VARS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "DOMAIN", "ACME_EMAIL"}

_READ_PATTERNS = (
    re.compile(r"""(?:environ\.get|getenv|envbool|envlist)\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""),
    re.compile(r"""^[A-Z_]*_ENV\s*=\s*["']([A-Z][A-Z0-9_]*)["']""", re.MULTILINE),
)


def _vars_read_by_code() -> set[str]:
    names: set[str] = set()
    for package in SOURCE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for pattern in _READ_PATTERNS:
                names.update(pattern.findall(text))
    return names


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit as {"Section.Key": [values]} (keys like Environment= may repeat)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


def _compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read deploy/compose.yaml")
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def _set_names(environment: dict | list) -> set[str]:
    if isinstance(environment, list):
        return {item.split("=", 1)[0] for item in environment}
    return set(environment)


# --- compose.yaml -----------------------------------------------------------------------------------


def test_compose_has_database_redis_migrate_web_engine_and_proxy() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "engine", "caddy"}
    assert re.fullmatch(r"postgres:1[56](\b.*)?", services["postgres"]["image"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]


def test_web_and_engine_start_only_after_migrate_completed() -> None:
    services = _compose()["services"]
    assert "migrate" in services["migrate"]["command"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "engine"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_engine_service_runs_runengine_and_gets_time_to_stop_cleanly() -> None:
    engine = _compose()["services"]["engine"]
    assert engine["command"][-2:] == ["runengine", "--no-migrate"]
    assert engine["restart"] == "unless-stopped"
    # runengine's clean stop is bounded at 5 s (trading.shutdown): the grace period must exceed it.
    assert _seconds(engine["stop_grace_period"]) >= 10
    assert "heartbeat_at" in " ".join(engine["healthcheck"]["test"])


def test_every_app_service_shares_the_data_volume_and_the_image() -> None:
    services = _compose()["services"]
    for name in APP_SERVICES:
        assert "engine-data:/data" in services[name]["volumes"], name
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile", name


def test_caddy_serves_80_and_443_and_proxies_to_the_web_service() -> None:
    caddy = _compose()["services"]["caddy"]
    published = {str(port).split(":")[0] for port in caddy["ports"]}
    assert published == {"80", "443"}
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]


def test_compose_sets_every_production_variable_for_the_app() -> None:
    services = _compose()["services"]
    for name in APP_SERVICES:
        assert PRODUCTION_VARS <= _set_names(services[name]["environment"]), name


# --- environment variables ------------------------------------------------------------------------


def test_production_vars_are_ones_the_code_reads() -> None:
    assert PRODUCTION_VARS <= _vars_read_by_code()


def test_every_variable_the_deploy_files_set_is_read_by_the_code() -> None:
    read = _vars_read_by_code() | RUNTIME_VARS
    set_by: dict[str, set[str]] = {
        ".env.example": set(_env_file(DEPLOY / ".env.example")) - INFRA_VARS,
        "systemd/tv-engine.env": set(_env_file(UNITS / "tv-engine.env")),
    }
    for unit in UNITS.glob("*.service"):
        set_by[unit.name] = {v.split("=", 1)[0] for v in _unit(unit).get("Service.Environment", [])}
    services = _compose()["services"]
    for name in APP_SERVICES:
        set_by[f"compose {name}"] = _set_names(services[name]["environment"])
    for where, names in set_by.items():
        assert names - read == set(), f"{where} sets variables nothing reads"


def test_env_templates_carry_every_production_variable_and_no_real_secret() -> None:
    for path in (DEPLOY / ".env.example", UNITS / "tv-engine.env"):
        values = _env_file(path)
        assert PRODUCTION_VARS <= set(values), path.name
        for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ENGINE_WEBHOOK_SECRET"):
            assert values[name].startswith("change-me"), f"{path.name}: {name} looks like a real secret"
        # The health checks call the web on 127.0.0.1; Django answers 400 to a host not listed.
        assert {"127.0.0.1", "localhost"} <= set(values["ALLOWED_HOSTS"].split(",")), path.name
        assert values["CSRF_TRUSTED_ORIGINS"].startswith("https://"), path.name
    example = _env_file(DEPLOY / ".env.example")
    assert example["POSTGRES_PASSWORD"].startswith("change-me")


def test_compose_substitutes_only_variables_the_env_example_defines() -> None:
    lines = (DEPLOY / "compose.yaml").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    substituted = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert substituted <= set(_env_file(DEPLOY / ".env.example"))


# --- Dockerfile -----------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert len(stages) == 2 and all(s.startswith("python:3.11-slim") for s in stages)
    assert "pip install '.[serve]'" in text  # the web server the image runs comes with the serve extra
    assert "COPY --from=builder /opt/venv /opt/venv" in text
    runtime = text.split("\nFROM ")[-1]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.*)$", runtime, re.MULTILINE | re.DOTALL)
    assert healthcheck and "urllib" in healthcheck.group(1) and "/healthz" in healthcheck.group(1)
    assert 'VOLUME ["/data"]' in runtime and "ENGINE_DATA_DIR=/data" in runtime
    assert re.search(r'^CMD \["gunicorn".*"engine_site\.asgi:application"\]', runtime, re.MULTILINE)


def _docker_cmd() -> list[str]:
    runtime = (DEPLOY / "Dockerfile").read_text().split("\nFROM ")[-1]
    return json.loads(re.search(r"^CMD (\[.*\])$", runtime, re.MULTILINE).group(1))


def _web_unit_command() -> list[str]:
    return shlex.split(_unit(UNITS / "tv-engine-web.service")["Service.ExecStart"][0])


def _without(argv: list[str], *options: str) -> list[str]:
    """`argv` without these options and their values (they differ by design between image and unit)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        else:
            kept.append(arg)
    return kept


def test_the_image_runs_the_web_units_command() -> None:
    """tests/e2e/test_production_web.py serves the unit's command line; the image must run the same
    server the same way, apart from where it listens and which proxy it trusts."""
    image, unit = _docker_cmd(), _web_unit_command()
    assert image[0] == "gunicorn" and unit[0].endswith("/gunicorn")
    assert _without(image[1:], "--bind", "--forwarded-allow-ips") == _without(
        unit[1:], "--bind", "--forwarded-allow-ips"
    )
    assert image[image.index("--bind") + 1] == "0.0.0.0:8000"
    assert unit[unit.index("--bind") + 1] == "127.0.0.1:8000"
    assert image[image.index("--worker-class") + 1] == "uvicorn_worker.UvicornWorker"
    # gunicorn's graceful stop must end before the service manager kills it.
    graceful = int(unit[unit.index("--graceful-timeout") + 1])
    assert graceful < _seconds(_unit(UNITS / "tv-engine-web.service")["Service.TimeoutStopSec"][0] + "s")


def test_dockerfile_copies_what_settings_find_next_to_the_packages() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    for part in (*SOURCE_PACKAGES, "templates", "static", "manage.py"):
        assert (ROOT / part).exists(), part
        assert re.search(rf"^COPY .*\b{re.escape(part)}\b", text, re.MULTILINE), part


# --- systemd and nginx ----------------------------------------------------------------------------


def _command_exists(argv: list[str]) -> bool:
    if "manage.py" in argv:
        name = argv[argv.index("manage.py") + 1]
        return any((ROOT / p / "management" / "commands" / f"{name}.py").exists() for p in SOURCE_PACKAGES)
    if argv[0].endswith(("/daphne", "/gunicorn")):
        module, _, attribute = argv[-1].partition(":")
        path = ROOT / (module.replace(".", "/") + ".py")
        return path.exists() and re.search(rf"^{attribute}\s*=", path.read_text(), re.MULTILINE) is not None
    return argv[0].startswith("/usr/bin/")


def test_systemd_units_run_commands_that_exist() -> None:
    units = {p.name: _unit(p) for p in UNITS.glob("*.service")}
    assert {"tv-engine-web.service", "tv-engine-engine.service", "tv-engine-backup.service"} <= set(units)
    for name, unit in units.items():
        assert unit["Service.EnvironmentFile"] == ["/etc/tv-engine/env"], name
        for command in unit["Service.ExecStart"] + unit.get("Service.ExecStartPost", []):
            assert _command_exists(command.split()), f"{name}: {command}"
    engine = units["tv-engine-engine.service"]
    assert engine["Service.ExecStart"][0].split()[-2:] == ["manage.py", "runengine"]
    assert "postgresql.service" in engine["Unit.After"][0].split()
    assert _seconds(engine["Service.TimeoutStopSec"][0] + "s") >= 10
    for name in ("tv-engine-web.service", "tv-engine-engine.service"):
        assert units[name]["Service.Restart"] == ["always"], name
    assert _unit(UNITS / "tv-engine-backup.timer")["Timer.OnCalendar"]


def test_systemd_units_pass_systemd_analyze_verify() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for path in sorted(UNITS.glob("tv-engine-*")):
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
        )
        # The install paths (/opt/tv-engine/.venv/...) do not exist on a test machine.
        problems = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if line.strip() and "is not executable" not in line
        ]
        assert problems == [], path.name


def test_nginx_passes_websockets_and_overwrites_forwarded_for() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    for directive in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "listen 443 ssl;",
    ):
        assert directive in text, directive


def test_deploy_guide_mentions_every_deploy_file() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for path in [*DEPLOY.iterdir(), *UNITS.iterdir()]:
        if path.is_file():
            assert path.name in guide, path.name
    assert "/webhooks/tradingview" in guide


# --- docker compose, when installed ---------------------------------------------------------------


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    """`docker compose config` (v2) when present; else Debian's docker-compose 1.x, whose schema
    predates the top-level `name:` key, on a copy without it."""
    env = tmp_path / ".env"
    env.write_text((DEPLOY / ".env.example").read_text())
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        argv = [docker, "compose", "--env-file", str(env), "-f", str(DEPLOY / "compose.yaml")]
        argv += ["config", "-q"]
    elif shutil.which("docker-compose"):
        copy = tmp_path / "compose.yaml"
        copy.write_text(re.sub(r"^name: .*\n", "", (DEPLOY / "compose.yaml").read_text(), flags=re.MULTILINE))
        argv = ["docker-compose", "--project-directory", str(DEPLOY), "--env-file", str(env), "-f", str(copy)]
        argv += ["config", "-q"]
    else:
        pytest.skip("neither `docker compose` (v2 plugin) nor docker-compose is installed")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
