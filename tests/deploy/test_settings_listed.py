"""deploy/.env.example lists every setting the code reads, and nothing the code does not."""

from __future__ import annotations

import ast
import importlib

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from tests.deploy.artefacts import PENDING_SETTINGS, ROOT, env_example, rendered

PACKAGES = ("bot", "inference", "retrieval", "training", "worker")


def settings_classes() -> list[type[BaseSettings]]:
    """Every BaseSettings subclass defined in our packages, found in their source."""
    found: list[type[BaseSettings]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id == "BaseSettings" for b in node.bases
                ):
                    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    found.append(getattr(importlib.import_module(module), node.name))
    return found


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The variable each field is read from: its alias when it has one, else prefix + name."""
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.add(str(alias.choices[0]))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def all_settings() -> set[str]:
    classes = settings_classes()
    assert len(classes) >= 5, "the source scan found too few settings classes"
    return set().union(*(env_names(cls) for cls in classes))


def test_env_example_lists_every_setting() -> None:
    missing = all_settings() - set(env_example())
    assert not missing, f"add to deploy/.env.example: {sorted(missing)}"


def test_env_example_names_only_real_settings() -> None:
    ours = {name for name in env_example() if name.startswith("LEARNLOOP_")}
    stack = {"LEARNLOOP_IMAGE", "LEARNLOOP_GPU_IMAGE"}  # compose's own, not the code's
    unknown = ours - all_settings() - PENDING_SETTINGS - stack
    assert not unknown, f"no code reads {sorted(unknown)}"


def test_kubernetes_config_names_only_real_settings() -> None:
    for obj in rendered("managed"):
        if obj["kind"] == "ConfigMap":
            unknown = set(obj["data"]) - all_settings() - PENDING_SETTINGS
            assert not unknown, f"{obj['metadata']['name']}: no code reads {sorted(unknown)}"
