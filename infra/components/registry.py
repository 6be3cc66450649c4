"""The DigitalOcean container registry and the read-only credentials the cluster pulls with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_digitalocean as do
import pulumi_random as random

from infra.config_model import RegistryConfig

IMAGE_NAME = "taskstream"
REGISTRY_HOST = "registry.digitalocean.com"


# Suffix length of a generated registry name: 36^6 names, enough that a clash is unlikely.
SUFFIX_LENGTH = 6


@dataclass(frozen=True)
class RegistryArgs:
    config: RegistryConfig
    region: str
    # The production stack: the starter tier is too small for it.
    production: bool
    # Prefix of a generated name (the Pulumi project); DigitalOcean names are global.
    name_prefix: str = "taskstream"
    # Also issue write credentials: the stack builds and pushes its own image (imageTag: build).
    push: bool = False


class Registry(pulumi.ComponentResource):
    """Creates the account's ContainerRegistry (or reads another stack's) and pull credentials.

    A created registry is always protected: the other stacks of the account pull from it.
    Creates: ContainerRegistry (+ a RandomString suffix when no name is configured), or a
    StackReference to the owning stack; ContainerRegistryDockerCredentials (read-only, and
    read-write with `push`).
    Outputs: name, endpoint, image_repository, docker_config_json (secret, a dockerconfigjson
    body), push_docker_config_json (secret, write access; only with `push`).
    """

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Registry", name, None, opts)
        self._args = args
        registry_name = (
            self._create_registry(name) if args.config.create else self._owner_name(name)
        )
        # The name is read off the registry (or the owning stack), so the credentials wait for
        # the registry to exist; a typed-in name would let Create race it and 404.
        credentials = do.ContainerRegistryDockerCredentials(
            f"{name}-pull",
            registry_name=registry_name,
            write=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = registry_name
        self.endpoint: pulumi.Output[str] = registry_name.apply(lambda n: f"{REGISTRY_HOST}/{n}")
        self.image_repository: pulumi.Output[str] = self.endpoint.apply(
            lambda e: f"{e}/{IMAGE_NAME}"
        )
        self.docker_config_json: pulumi.Output[str] = pulumi.Output.secret(
            credentials.docker_credentials
        )
        self.push_docker_config_json: pulumi.Output[str] | None = None
        if args.push:
            # Write access for the image build's push; named off the registry like the pull
            # credentials, so its Create waits for the registry too.
            push = do.ContainerRegistryDockerCredentials(
                f"{name}-push",
                registry_name=registry_name,
                write=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.push_docker_config_json = pulumi.Output.secret(push.docker_credentials)
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "image_repository": self.image_repository,
            }
        )

    def _create_registry(self, name: str) -> pulumi.Output[str]:
        config = self._args.config
        wanted: pulumi.Input[str]
        if config.name is not None:
            wanted = config.name
        else:
            suffix = random.RandomString(
                f"{name}-suffix",
                length=SUFFIX_LENGTH,
                upper=False,
                special=False,
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            wanted = suffix.result.apply(lambda s: f"{self._args.name_prefix}-{s}")
        registry = do.ContainerRegistry(
            name,
            name=wanted,
            subscription_tier_slug=config.tier,
            region=self._args.region,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        # The endpoint's path is the name; reading the name off the resource carries the
        # dependency to everything that uses it.
        return registry.name

    def _owner_name(self, name: str) -> pulumi.Output[str]:
        # DigitalOcean's basic tier allows one registry per account, so this stack uses the one
        # the owning stack created. Reading its name from that stack's outputs fails the preview
        # with the stack's name when the owner has not been deployed yet. No getContainerRegistry
        # invoke: digitalocean 4.76.0 reads the registry by an empty id (GET /v2/registries/)
        # and, on the 404, returns no endpoint (seen in a real `pulumi preview` of prod).
        stack = _qualified(self._args.config.source_stack or "dev")
        owner = pulumi.StackReference(
            f"{name}-owner", stack_name=stack, opts=pulumi.ResourceOptions(parent=self)
        )
        return owner.outputs.apply(lambda outputs: _owner_registry(stack, outputs))


# The stack output that carries the registry's name to the stacks reusing it.
OWNER_OUTPUT = "registry_name"


def _qualified(stack: str) -> str:
    """`dev` as `<organization>/<project>/dev`, the form StackReference needs on every backend."""
    if "/" in stack:
        return stack
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{stack}"


def _owner_registry(stack: str, outputs: Mapping[str, Any]) -> str:
    name = outputs.get(OWNER_OUTPUT)
    if isinstance(name, str) and name:
        return name
    raise ValueError(
        f"Stack {stack} has no {OWNER_OUTPUT} output, so this stack cannot find the registry it "
        f"pulls from: deploy that stack first (`pulumi up --stack {stack.rsplit('/', 1)[-1]}`), "
        "or set taskstream:registryStack to the stack that creates the registry"
    )


def _validate(args: RegistryArgs) -> None:
    if args.config.tier == "starter" and args.production:
        raise ValueError(
            f"Registry {args.config.name or args.name_prefix}: the starter tier holds one "
            "repository of 500 MiB; set taskstream:registryTier to basic or professional for "
            "production"
        )
