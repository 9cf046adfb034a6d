"""deploy/compose.yaml against the Compose Specification's schema, and what a schema cannot
see: declared volumes, known dependencies, health checks, variables in .env.example."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from tests.deploy.artefacts import DEPLOY, compose, env_example


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    # The compose-spec schema as check-jsonschema vendors it (kept current by its releases)
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(vendored.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_matches_the_compose_specification(
    validator: jsonschema.protocols.Validator,
) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose())
    ]
    assert errors == []


def test_schema_rejects_a_misspelt_key(validator: jsonschema.protocols.Validator) -> None:
    broken = compose()
    broken["services"]["beat"]["comand"] = broken["services"]["beat"].pop("command")
    assert not validator.is_valid(broken)


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def ours(service: dict[str, Any]) -> bool:
    """A service of the LearnLoop image (the CPU or the GPU build)."""
    return str(service["image"]).startswith("${LEARNLOOP_")


def test_every_named_volume_is_declared() -> None:
    declared = set(compose()["volumes"])
    used = {
        mount.split(":", 1)[0]
        for service in services().values()
        for mount in service.get("volumes", [])
        if not mount.startswith((".", "/", "$"))
    }
    assert used <= declared
    assert declared <= used, f"declared but unused: {declared - used}"


def test_dependencies_name_services_and_wait_for_the_migration() -> None:
    names = set(services())
    for name, service in services().items():
        depends = service.get("depends_on", {})
        assert set(depends) <= names, name
        if ours(service) and name not in ("chroma", "migrate", "inference"):
            assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_long_running_services_restart_and_report_health() -> None:
    for name, service in services().items():
        if name == "migrate":
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_every_role_of_the_image_is_present() -> None:
    commands = {tuple(s["command"][:3]) for s in services().values() if ours(s)}
    assert {
        ("learnloop", "bot", "slack"),
        ("learnloop", "bot", "teams"),
        ("learnloop", "web", "--host"),
        ("learnloop", "beat"),
        ("learnloop", "migrate"),
        ("learnloop", "serve-inference", "--host"),
        ("chroma", "run", "--path"),
    } <= commands
    queues = {
        q
        for s in services().values()
        if s.get("command", [])[:2] == ["learnloop", "worker"]
        for q in s["command"][s["command"].index("--queues") + 1].split(",")
    }
    assert queues == {"ingest", "feedback", "notify", "training"}


def test_compose_variables_are_listed_in_env_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    missing = used - set(env_example())
    assert not missing, f"not in deploy/.env.example: {sorted(missing)}"


def test_profiles_in_env_example_exist_in_compose() -> None:
    chosen = set(env_example()["COMPOSE_PROFILES"].split(","))
    defined = {p for s in services().values() for p in s.get("profiles", [])}
    assert chosen <= defined
    assert {"cpu", "gpu"} <= defined


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_web_console_is_published_checked_on_its_own_probe_and_shares_uploads() -> None:
    web = services()["web"]
    port = option(web["command"], "--port")
    assert option(web["command"], "--host") == "0.0.0.0"  # noqa: S104 - a container
    assert f"{port}:{port}" in web["ports"]
    # its own /readyz answers without a session (the operations port is for the cluster)
    assert f"http://127.0.0.1:{port}/readyz" in web["healthcheck"]["test"][-1]
    # uploads from the console land where the ingest workers read them
    assert "uploads:/data/uploads" in web["volumes"]
    assert "uploads:/data/uploads" in services()["worker-ingest"]["volumes"]
    assert "web" in env_example()["COMPOSE_PROFILES"].split(",")
    assert env_example()["LEARNLOOP_WEB_URL"].endswith(f":{port}")
