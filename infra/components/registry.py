"""The DigitalOcean container registry and the read-only credentials the cluster pulls with."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

from infra.config_model import RegistryConfig

IMAGE_NAME = "taskstream"
REGISTRY_HOST = "registry.digitalocean.com"


@dataclass(frozen=True)
class RegistryArgs:
    config: RegistryConfig
    region: str
    protect: bool
    # Also issue write credentials: the stack builds and pushes its own image (imageTag: build).
    push: bool = False


class Registry(pulumi.ComponentResource):
    """Creates (or looks up) the account's ContainerRegistry and read-only docker credentials.

    Outputs: endpoint, image_repository, docker_config_json (secret, a dockerconfigjson body),
    push_docker_config_json (secret, write access; only with `push`).
    """

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Registry", name, None, opts)
        config = args.config
        endpoint: pulumi.Output[str]
        created: list[pulumi.Resource] = []
        if config.create:
            registry = do.ContainerRegistry(
                name,
                name=config.name,
                subscription_tier_slug=config.tier,
                region=args.region,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            endpoint = registry.endpoint
            created.append(registry)
        else:
            # DigitalOcean allows one registry per account, so a second stack reuses the first's.
            # Its endpoint follows from its name. No getContainerRegistry invoke: digitalocean
            # 4.76.0 reads the registry by an empty id (GET /v2/registries/) and, on the 404,
            # returns no endpoint, so images became "None/taskstream:<tag>" (seen in a real
            # `pulumi preview` of prod).
            endpoint = pulumi.Output.from_input(f"{REGISTRY_HOST}/{config.name}")
        credentials = do.ContainerRegistryDockerCredentials(
            f"{name}-pull",
            registry_name=config.name,
            write=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoint = endpoint
        self.image_repository: pulumi.Output[str] = endpoint.apply(lambda e: f"{e}/{IMAGE_NAME}")
        self.docker_config_json: pulumi.Output[str] = pulumi.Output.secret(
            credentials.docker_credentials
        )
        self.push_docker_config_json: pulumi.Output[str] | None = None
        if args.push:
            # Write access for the image build's push; its Create reads the registry, so it
            # waits for a registry this stack creates.
            push = do.ContainerRegistryDockerCredentials(
                f"{name}-push",
                registry_name=config.name,
                write=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=created),
            )
            self.push_docker_config_json = pulumi.Output.secret(push.docker_credentials)
        self.register_outputs(
            {"endpoint": self.endpoint, "image_repository": self.image_repository}
        )


def _validate(args: RegistryArgs) -> None:
    if args.config.tier == "starter" and args.protect:
        raise ValueError(
            f"Registry {args.config.name}: the starter tier holds one repository of 500 MiB; "
            "set taskstream:registryTier to basic or professional for production"
        )
