"""Every raw Kubernetes object validates against the targeted minor's OpenAPI schema;
custom resources (whose CRDs come from charts) against our own minimal shapes of those CRDs."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest

from infra import versions
from infra.render.recording import Recording, reveal
from infra.render.schema import CRD_GROUPS
from tests.infra.crd_shapes import SHAPES


def _manifest(resource_inputs: dict[str, Any]) -> dict[str, Any]:
    # The real object carries the secret's value where the mock engine keeps a wrapper.
    return reveal(resource_inputs)  # type: ignore[no-any-return]


def _raw_objects(rec: Recording) -> list[tuple[str, dict[str, Any]]]:
    objects = []
    for resource in rec.resources:
        if not (resource.custom and resource.type.startswith("kubernetes:")):
            continue
        if resource.type.startswith("kubernetes:helm.sh/") or "metadata" not in resource.inputs:
            continue
        if any(group in resource.type for group in CRD_GROUPS):
            continue
        objects.append((resource.name, _manifest(resource.inputs)))
    return objects


def test_the_installed_validator_ships_the_targeted_minor() -> None:
    assert versions.KUBERNETES_MINOR in {
        kubernetes_validate.utils.major_minor(v) for v in kubernetes_validate.utils.all_versions()
    }, f"kubernetes-validate has no schema for {versions.KUBERNETES_MINOR}"
    assert f"{versions.KUBERNETES_MINOR}." == versions.KUBERNETES_VERSION_PREFIX


def test_every_raw_kubernetes_object_validates_against_the_targeted_minor(
    recorded: Recording,
) -> None:
    objects = _raw_objects(recorded)
    assert len(objects) > 20, "fewer raw objects than expected; is the recording empty?"
    failures = []
    for name, manifest in objects:
        try:
            kubernetes_validate.validate(manifest, versions.KUBERNETES_MINOR, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{manifest['kind']} {name}: {error.message} at {list(error.path)}")
    assert not failures, (
        "objects invalid for Kubernetes " + versions.KUBERNETES_MINOR + f": {failures}"
    )


def test_every_custom_resource_matches_the_shape_of_its_crd(recorded: Recording) -> None:
    custom = [r for r in recorded.resources if any(group in r.type for group in CRD_GROUPS)]
    assert custom, "no custom resources recorded"
    for resource in custom:
        manifest = _manifest(resource.inputs)
        key = f"{manifest['apiVersion']}/{manifest['kind']}"
        assert key in SHAPES, f"no shape for {key}; add one to tests/infra/crd_shapes.py"
        try:
            jsonschema.validate(manifest, SHAPES[key])
        except jsonschema.ValidationError as error:
            pytest.fail(f"{key} {resource.name}: {error.message} at {list(error.path)}")
