"""Loading the deploy artefacts for the tests: compose, rendered manifests, .env.example."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("in-cluster", "managed")
LEARNLOOP_IMAGES = ("learnloop", "learnloop-gpu")
# Settings still to come with code (none now: the operations port and JSON logs are read)
PENDING_SETTINGS: frozenset[str] = frozenset()
PENDING_COMMANDS: frozenset[tuple[str, ...]] = frozenset()


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def renderer() -> ModuleType:
    """deploy/k8s/render.py, loaded from its file (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("k8s_render", K8S / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered(overlay: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = renderer().render(K8S / "overlays" / overlay)
    return objects


def env_example() -> dict[str, str]:
    """Names in deploy/.env.example, set or shown commented out, with their values."""
    found: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#? ?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found[match[1]] = match[2]
    return found


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
        return None
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def is_learnloop(image: str) -> bool:
    """A container of our image, before or after an overlay renamed it."""
    name = image.rsplit("/", 1)[-1].split(":", 1)[0]
    return name in LEARNLOOP_IMAGES
