"""Render a kustomization of deploy/k8s to one YAML stream, without kubectl.

`kubectl apply -k deploy/k8s/overlays/managed` is how a site applies these manifests; this
renders the same objects where no kubectl is installed (CI validates them offline). It
implements only the kustomization fields this layout uses and refuses any other, so it
can never silently render something kustomize would not.

    python deploy/k8s/render.py deploy/k8s/overlays/managed > learnloop.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = frozenset({"resources", "namespace", "images", "labels"})

Manifest = dict[str, Any]


class RenderError(ValueError):
    """The kustomization uses something this renderer does not implement, or is broken."""


def render(folder: Path) -> list[Manifest]:
    """The objects `kubectl kustomize FOLDER` would print (in resource order)."""
    path = folder / "kustomization.yaml"
    if not path.is_file():
        raise RenderError(f"{folder} has no kustomization.yaml")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise RenderError(f"{path}: render.py does not implement {', '.join(sorted(unknown))}")
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        target = (folder / entry).resolve()
        if target.is_dir():
            objects += render(target)
        elif target.is_file():
            docs = yaml.safe_load_all(target.read_text(encoding="utf-8"))
            objects += [doc for doc in docs if doc]
        else:
            raise RenderError(f"{path}: no resource {entry}")
    for group in spec.get("labels", []):
        if group.get("includeSelectors") or group.get("includeTemplates"):
            raise RenderError(f"{path}: only metadata labels are implemented")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(group["pairs"])
    if "namespace" in spec:
        for obj in objects:
            obj["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        _set_image(objects, image)
    return objects


def _set_image(objects: list[Manifest], image: dict[str, str]) -> None:
    """Kustomize's `images` entry: rename and retag containers whose image is `name`."""
    new = image.get("newName", image["name"])
    if "digest" in image:
        new += "@" + image["digest"]
    elif "newTag" in image:
        new += ":" + str(image["newTag"])
    for obj in objects:
        for container in _containers(obj):
            ref = container.get("image", "")
            if ref == image["name"] or ref.startswith(image["name"] + ":"):
                container["image"] = new


def _containers(obj: Manifest) -> list[dict[str, Any]]:
    spec = obj.get("spec", {})
    pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python deploy/k8s/render.py KUSTOMIZATION_FOLDER", file=sys.stderr)
        return 2
    try:
        objects = render(Path(argv[0]))
    except (RenderError, OSError, yaml.YAMLError) as exc:
        print(f"render.py: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
