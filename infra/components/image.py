"""The app image built from this checkout and pushed to the stack's registry by `pulumi up`.

Used when a stack sets `taskstream:imageTag: build` (dev): one `pulumi up` builds with
BuildKit, pushes under a content-addressed tag, and rolls the workloads out on the pushed
digest. Stacks with a pinned imageTag (prod) deploy the image CI built and never build here.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build

from infra.image_context import context_tag

REPO_ROOT = Path(__file__).resolve().parents[2]
# DOKS node pools run amd64 droplets.
PLATFORM = docker_build.Platform.LINUX_AMD64
# The BuildKit layer cache lives beside the image in the same repository, under this tag.
CACHE_TAG = "buildcache"


@dataclass(frozen=True)
class AppImageArgs:
    repository: pulumi.Input[str]  # e.g. registry.digitalocean.com/<registry>/taskstream
    registry_server: str  # the host the push logs in to
    push_docker_config_json: pulumi.Output[str]  # secret: a dockerconfigjson with write access
    context: Path = REPO_ROOT


class AppImage(pulumi.ComponentResource):
    """Builds the repository's Dockerfile for linux/amd64 and pushes `<repository>:ctx-<digest>`.

    The build reads and writes a registry cache (`<repository>:buildcache`, every layer), so a
    change to the code alone rebuilds only the layers after `COPY . /src`. Previews never build
    (no Docker daemon needed); `up` needs one with BuildKit (the provider starts a
    docker-container builder itself when the default builder cannot export a cache).

    Outputs: tag (known before the build), ref (`<repository>:<tag>@sha256:…`, what the
    workloads run; unknown until the push, so every workload waits for it).
    """

    def __init__(
        self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("taskstream:platform:AppImage", name, None, opts)
        self.tag = context_tag(args.context)
        repository = pulumi.Output.from_input(args.repository)
        login = args.push_docker_config_json.apply(
            lambda body: registry_login(body, args.registry_server)
        )
        # Relative to the program's working directory: an absolute path would differ between
        # machines (a laptop, a CI runner) and show a false change on every other one.
        location = os.path.relpath(args.context, Path.cwd())
        self.image = docker_build.Image(
            name,
            tags=[repository.apply(lambda repo: f"{repo}:{self.tag}")],
            context=docker_build.BuildContextArgs(location=location),
            dockerfile=docker_build.DockerfileArgs(location=os.path.join(location, "Dockerfile")),
            platforms=[PLATFORM],
            push=True,
            # A preview plans the build without running it: no daemon, nothing half-built.
            build_on_preview=False,
            registries=[
                docker_build.RegistryArgs(
                    address=args.registry_server,
                    username=pulumi.Output.secret(login[0]),
                    password=pulumi.Output.secret(login[1]),
                )
            ],
            cache_from=[
                docker_build.CacheFromArgs(
                    registry=docker_build.CacheFromRegistryArgs(
                        ref=repository.apply(lambda repo: f"{repo}:{CACHE_TAG}")
                    )
                )
            ],
            cache_to=[
                docker_build.CacheToArgs(
                    registry=docker_build.CacheToRegistryArgs(
                        ref=repository.apply(lambda repo: f"{repo}:{CACHE_TAG}"),
                        mode=docker_build.CacheMode.MAX,
                        # One OCI image manifest rather than a manifest list: accepted by
                        # every registry (https://docs.docker.com/build/cache/backends/registry/).
                        image_manifest=True,
                        oci_media_types=True,
                    )
                )
            ],
            # Deleting the resource would delete the pushed manifest from the registry, and
            # with it a tag a rollback (or another stack) may still deploy. Registry garbage
            # collection removes what no tag keeps.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.ref: pulumi.Output[str] = self.image.ref
        self.register_outputs({"tag": self.tag, "ref": self.ref})


def registry_login(docker_config_json: str, server: str) -> tuple[str, str]:
    """The user name and password a dockerconfigjson holds for `server`."""
    auths = json.loads(docker_config_json).get("auths", {})
    entry = auths.get(server) or auths.get(f"https://{server}")
    if not isinstance(entry, dict):
        raise ValueError(f"the registry credentials hold no login for {server}")
    if "auth" in entry:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        return user, password
    return str(entry.get("username", "")), str(entry.get("password", ""))
