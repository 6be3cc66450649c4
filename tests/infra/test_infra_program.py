"""The whole program per stack under the recording mock engine: presence and absence."""

from __future__ import annotations

import json
from collections import Counter
from ipaddress import ip_network

from app import contract
from app.settings import Settings
from infra import kafka_access, versions
from infra.components.edge import PROXY_SOURCE_NETWORKS
from infra.render.mock_answers import SECRET_MARKER
from infra.render.recording import (
    RecordedResource,
    Recording,
    is_secret,
    reveal,
    walk_plain_strings,
)
from tests.infra.expected_resources import EXPECTED_RESOURCES
from tests.infra.stacks import recording
from tests.support.workloads import IMAGE_PROCESSES

RELEASE = "kubernetes:helm.sh/v3:Release"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def _release(rec: Recording, name: str) -> dict[str, object]:
    matches = [r for r in rec.of_type(RELEASE) if r.name == name]
    assert matches, f"no Helm release named {name!r}"
    return reveal(matches[0].inputs)  # type: ignore[no-any-return]


def test_each_stack_declares_exactly_its_expected_resource_set(
    recorded: Recording, stack: str
) -> None:
    actual = dict(Counter(r.type for r in recorded.resources))
    assert actual == EXPECTED_RESOURCES[stack], (
        f"{stack} declares a different resource set; update tests/infra/expected_resources.py "
        "only if the change is intended"
    )


def test_prod_has_an_ha_protected_cluster_and_a_protected_standby_database() -> None:
    rec = recording("prod")
    cluster = rec.of_type(CLUSTER)[0]
    assert cluster.inputs["ha"] is True, "prod control plane is not HA"
    assert cluster.protect, "prod cluster is not protected"
    database = rec.of_type(DATABASE)[0]
    assert database.protect, "prod database is not protected"
    assert database.inputs["nodeCount"] >= 2, "prod database has no standby node"


def test_dev_is_small_and_unprotected() -> None:
    rec = recording("dev")
    cluster = rec.of_type(CLUSTER)[0]
    assert cluster.inputs["ha"] is False, "dev pays for an HA control plane"
    assert not cluster.protect, "dev cluster is protected, so destroy would fail"
    assert cluster.inputs["nodePool"]["nodeCount"] == 1, "dev default pool is larger than one node"
    assert rec.of_type(DATABASE)[0].inputs["nodeCount"] == 1, "dev database has standby nodes"
    values = _release(rec, "redpanda")["values"]
    assert values["statefulset"]["replicas"] == 1, "dev runs more than one broker"  # type: ignore[index]
    assert not rec.of_type(HPA), "dev declares HPAs"
    assert not rec.of_type(PDB), "dev declares PDBs, which block draining its single replicas"


def test_prod_runs_three_brokers_with_replication_three() -> None:
    rec = recording("prod")
    values = _release(rec, "redpanda")["values"]
    assert values["statefulset"]["replicas"] == 3, "prod does not run 3 brokers"  # type: ignore[index]
    assert values["config"]["cluster"]["default_topic_replications"] == 3  # type: ignore[index]
    topics_job = next(r for r in rec.of_type(JOB) if r.name == "eventbus-topics")
    script = topics_job.inputs["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    for topic in contract.TOPICS:
        for name in (topic.name, topic.dead_letter):
            assert f"rpk topic create {name} " in script, f"topic {name} is not created"
    assert script.count("--replicas 3") == 2 * len(contract.TOPICS), "a topic is not replicated 3x"


def test_prod_has_pdbs_and_hpas_for_scaled_out_processes() -> None:
    rec = recording("prod")
    pdbs = {r.inputs["metadata"]["name"] for r in rec.of_type(PDB)}
    wanted = {p.name for p in IMAGE_PROCESSES}
    assert pdbs == wanted, f"PDBs cover {pdbs}, not every process"
    hpas = {r.inputs["metadata"]["name"] for r in rec.of_type(HPA)}
    assert "api" in hpas, f"the API does not autoscale: {hpas}"
    # The workers scale on lag: KEDA makes their HPAs from these (test_infra_autoscaling.py).
    scaled = {r.inputs["metadata"]["name"] for r in rec.of_type(SCALED_OBJECT)}
    assert {"notifier", "recurrer"} <= scaled, f"the workers do not scale on lag: {scaled}"


def test_every_helm_release_pins_the_version_from_versions_py(recorded: Recording) -> None:
    pinned = {chart.name: chart.version for chart in versions.CHARTS}
    for release in recorded.of_type(RELEASE):
        chart = release.inputs["chart"]
        assert release.inputs.get("version"), f"release {release.name} has no chart version"
        if chart.startswith("oci://"):
            # An OCI chart is its own address; Helm refuses a repository beside it.
            assert "repositoryOpts" not in release.inputs, f"{chart} also names a repository"
            chart = chart.rsplit("/", 1)[-1]
        else:
            assert release.inputs["repositoryOpts"]["repo"], f"{chart} has no repository"
        assert release.inputs["version"] == pinned[chart], f"{chart} is not at its pinned version"


def test_every_dapr_resource_depends_on_the_dapr_release(recorded: Recording) -> None:
    dapr_release = next(r for r in recorded.of_type(RELEASE) if r.name == "dapr")
    dapr_objects = [r for r in recorded.resources if r.type.startswith("kubernetes:dapr.io/")]
    assert len(dapr_objects) >= 4, "Component, Resiliency, Configuration and Subscriptions missing"
    for resource in dapr_objects:
        assert dapr_release.urn in resource.dependencies, f"{resource.name} can precede its CRDs"


def test_every_monitoring_custom_resource_depends_on_kube_prometheus_stack(
    recorded: Recording,
) -> None:
    kps = next(r for r in recorded.of_type(RELEASE) if r.name == "kube-prometheus-stack")
    for resource in recorded.resources:
        if resource.type.startswith("kubernetes:monitoring.coreos.com/"):
            assert kps.urn in resource.dependencies, f"{resource.name} can precede its CRD"


def test_subscriptions_wait_for_their_topics(recorded: Recording) -> None:
    topics_job = next(r for r in recorded.of_type(JOB) if r.name == "eventbus-topics")
    for resource in recorded.of_type("kubernetes:dapr.io/v2alpha1:Subscription"):
        assert topics_job.urn in resource.dependencies, f"{resource.name} precedes its topic"


def _containers(deployment: RecordedResource) -> list[dict[str, object]]:
    return deployment.inputs["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def _processes(recorded: Recording) -> list[RecordedResource]:
    """The Deployments of contract.PROCESSES: all but the lag exporter's."""
    names = {p.name for p in contract.PROCESSES}
    return [d for d in recorded.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] in names]


def test_there_is_one_deployment_per_contract_process(recorded: Recording) -> None:
    names = {d.inputs["metadata"]["name"] for d in recorded.of_type(DEPLOYMENT)}
    wanted = {p.name for p in IMAGE_PROCESSES}
    assert names == wanted, f"deployments {names} differ"


def test_the_lag_exporter_has_no_sidecar_and_reads_kafka_as_its_own_user(
    recorded: Recording,
) -> None:
    exporter = recorded.named(contract.LAG_EXPORTER.name)
    template = exporter.inputs["spec"]["template"]
    assert "dapr.io/enabled" not in template["metadata"].get("annotations", {})
    [container] = template["spec"]["containers"]
    assert container["args"] == list(contract.LAG_EXPORTER.args)
    env = {e["name"]: e for e in container["env"]}
    assert contract.ENV_DATABASE_URL not in env, "the exporter has no use for the database"
    user = env[contract.ENV_KAFKA_USERNAME]["valueFrom"]["secretKeyRef"]
    assert user["name"] == kafka_access.reader(contract.LAG_EXPORTER.name).secret_name
    assert env[contract.ENV_KAFKA_BROKERS]["value"].endswith(":9093")


def test_every_deployment_has_dapr_annotations_for_its_app_id(recorded: Recording) -> None:
    by_name = {p.name: p for p in contract.PROCESSES}
    for deployment in _processes(recorded):
        process = by_name[deployment.inputs["metadata"]["name"]]
        annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
        expected = {
            "dapr.io/enabled": "true",
            "dapr.io/app-id": process.app_id,
            "dapr.io/app-port": str(process.port),
            "dapr.io/config": "taskstream",
            "dapr.io/enable-metrics": "true",
        }
        missing = {k: v for k, v in expected.items() if annotations.get(k) != v}
        assert not missing, f"{process.name} lacks Dapr annotations {missing}"


def test_every_deployment_has_probes_resources_and_a_non_root_read_only_context(
    recorded: Recording,
) -> None:
    for deployment in recorded.of_type(DEPLOYMENT):
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, f"{deployment.name} may run as root"
        assert pod["topologySpreadConstraints"], f"{deployment.name} has no topology spread"
        for container in _containers(deployment):
            name = f"{deployment.name}/{container['name']}"
            assert container["readinessProbe"]["httpGet"]["path"] == contract.READY_PATH, name  # type: ignore[index]
            assert container["livenessProbe"]["httpGet"]["path"] == contract.HEALTH_PATH, name  # type: ignore[index]
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) == {"cpu", "memory"}, f"{name} {kind}"  # type: ignore[index]
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, f"{name} has a writable root"  # type: ignore[index]
            assert context["allowPrivilegeEscalation"] is False, f"{name} can escalate"  # type: ignore[index]


def test_every_process_the_lag_exporter_too_is_probed_alike(recorded: Recording) -> None:
    probes = {
        deployment.name: {kind: container.get(kind) for kind in PROBES}
        for deployment in recorded.of_type(DEPLOYMENT)
        for container in _containers(deployment)
    }
    api = probes[contract.API.name]
    assert all(api.values()), f"the API lacks a probe: {api}"
    differ = sorted(name for name, probe in probes.items() if probe != api)
    assert not differ, f"probed unlike the API: {differ}"


def test_deployments_read_settings_by_the_contract_names_and_secrets_by_reference(
    recorded: Recording,
) -> None:
    secrets = (contract.ENV_DATABASE_URL, contract.ENV_JWT_SECRET, contract.ENV_WEBHOOK_SECRET_KEY)
    for deployment in [*_processes(recorded), recorded.named("migrate")]:
        env = {e["name"]: e for e in _containers(deployment)[0]["env"]}  # type: ignore[attr-defined]
        for name in secrets:
            assert "secretKeyRef" in env[name]["valueFrom"], f"{name} is not read from a Secret"
        assert env[contract.ENV_EVENT_BUS]["value"] == "dapr"
        assert env[contract.ENV_PUBSUB_NAME]["value"] == contract.PUBSUB_NAME


def test_the_api_believes_forwarded_addresses_only_from_where_the_edge_proxies_connect(
    recorded: Recording,
) -> None:
    (api,) = [d for d in recorded.of_type(DEPLOYMENT) if d.name == contract.API.name]
    env = {e["name"]: e for e in _containers(api)[0]["env"]}  # type: ignore[attr-defined]
    trusted = Settings(
        environment="test", trusted_proxies=json.loads(env[contract.ENV_TRUSTED_PROXIES]["value"])
    ).trusted_proxies
    expected = [ip_network(cidr) for cidr in PROXY_SOURCE_NETWORKS]
    assert trusted == expected, f"the API trusts {trusted}, the edge connects from {expected}"
    assert [str(network) for network in trusted] == ["10.244.0.0/16"], "not the pod network"


def test_the_migration_job_precedes_every_deployment(recorded: Recording) -> None:
    migrate = recorded.named("migrate")
    args = migrate.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert tuple(args) == contract.MIGRATE_ARGS, "the Job does not run the migrate command"
    # The lag exporter never touches the database, so it need not wait.
    for deployment in _processes(recorded):
        assert migrate.urn in deployment.dependencies, (
            f"{deployment.name} can roll before migrating"
        )


def test_the_admin_grants_the_app_role_before_the_migration_runs(recorded: Recording) -> None:
    grant, migrate = recorded.named("db-grant"), recorded.named("migrate")
    container = grant.inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][: len(contract.DB_GRANT_ARGS)] == list(contract.DB_GRANT_ARGS)
    assert container["args"][-2:] == ["--role", "taskstream"], container["args"]
    assert grant.urn in migrate.dependencies, "the migration can run before the grant"
    url = {e["name"]: e for e in container["env"]}[contract.ENV_DATABASE_URL]
    assert url["valueFrom"]["secretKeyRef"]["name"] == "taskstream-db-admin", url


def test_only_the_grant_job_can_read_the_database_admin_secret(recorded: Recording) -> None:
    for resource in (*recorded.of_type(DEPLOYMENT), *recorded.of_type(JOB)):
        reads_admin = "taskstream-db-admin" in repr(resource.inputs.get("spec"))
        assert reads_admin is (resource.name == "db-grant"), f"{resource.name} admin access"


def test_the_managed_database_admin_url_goes_to_the_server_with_tls() -> None:
    secret = recording("dev").named("app-foundation-db-admin")
    url = reveal(secret.inputs["stringData"])["database-url"]
    assert url.startswith("postgresql://doadmin:"), "the grant does not connect as the admin"
    assert url.endswith("@private-db.internal:25060/taskstream?sslmode=require"), url


def test_pull_secret_is_referenced_on_doks_and_absent_locally() -> None:
    for stack, expected in (("dev", True), ("prod", True), ("local", False)):
        for deployment in recording(stack).of_type(DEPLOYMENT):
            pod = deployment.inputs["spec"]["template"]["spec"]
            assert ("imagePullSecrets" in pod) is expected, f"{stack}/{deployment.name} pull secret"


def test_no_secret_value_reaches_any_resource_input_unwrapped(recorded: Recording) -> None:
    leaks = [
        f"{resource.type} {resource.name}{path}"
        for resource in recorded.resources
        for path, text in walk_plain_strings(resource.inputs)
        if SECRET_MARKER in text
    ]
    assert not leaks, f"secret values appear in plain resource inputs: {leaks}"


def test_secrets_are_marked_secret_where_they_are_used() -> None:
    rec = recording("dev")
    settings = rec.named("app-foundation-settings").inputs
    assert is_secret(settings["stringData"]), "the settings Secret data is not a Pulumi secret"
    assert SECRET_MARKER in str(reveal(settings)), "the settings Secret lacks the database URL"
    assert "webhook-secret-key" in str(reveal(settings)), (
        "the settings Secret lacks the sealing key"
    )
    assert "kubeconfig" in rec.outputs, "kubeconfig is not exported"


def test_doks_in_cluster_objects_use_the_cluster_provider_and_die_with_the_cluster() -> None:
    rec = recording("dev")
    cluster = rec.of_type(CLUSTER)[0]
    provider = rec.of_type("pulumi:providers:kubernetes")[0]
    assert provider.inputs["clusterIdentifier"] == "cluster-id", "a token change would replace all"
    for resource in rec.resources:
        if resource.type.startswith("kubernetes:") and resource.custom:
            assert resource.provider.startswith(provider.urn), f"{resource.name} default provider"
            assert resource.deleted_with == cluster.urn, f"{resource.name} not deleted_with cluster"


def test_the_workload_pool_ignores_node_count_and_the_version_comes_from_a_prefix() -> None:
    rec = recording("dev")
    pool = rec.of_type("digitalocean:index/kubernetesNodePool:KubernetesNodePool")[0]
    assert pool.ignore_changes == ["nodeCount"], "the autoscaler and Pulumi would fight"
    assert pool.inputs["autoScale"] is True
    cluster = rec.of_type(CLUSTER)[0]
    assert cluster.inputs["version"] == f"{versions.KUBERNETES_VERSION_PREFIX}1-do.0"
    assert cluster.inputs["surgeUpgrade"] is True, "upgrades would drain nodes without surge"
    assert cluster.inputs["autoUpgrade"] is True, "patch upgrades are not automatic"
    tokens = [i.token for i in rec.invokes]
    assert "digitalocean:index/getKubernetesVersions:getKubernetesVersions" in tokens


def test_the_database_admits_only_the_cluster() -> None:
    rec = recording("dev")
    firewall = rec.of_type("digitalocean:index/databaseFirewall:DatabaseFirewall")[0]
    assert firewall.inputs["rules"] == [{"type": "k8s", "value": "cluster-id"}]


def test_the_local_stack_has_no_digitalocean_resources_and_an_in_cluster_database() -> None:
    rec = recording("local")
    assert not [r for r in rec.resources if r.type.startswith("digitalocean:")], "local uses DO"
    assert rec.of_type("kubernetes:apps/v1:StatefulSet"), "local has no in-cluster PostgreSQL"
    provider = rec.of_type("pulumi:providers:kubernetes")[0]
    assert provider.inputs["context"] == "kind-taskstream"


def test_grafana_gets_a_generated_admin_password_through_an_existing_secret(
    recorded: Recording,
) -> None:
    values = _release(recorded, "kube-prometheus-stack")["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"  # type: ignore[index]
    assert "adminPassword" not in values["grafana"], "a password travels in Helm values"  # type: ignore[operator]
    secret = next(
        r for r in recorded.of_type("kubernetes:core/v1:Secret") if r.name.endswith("grafana-admin")
    )
    assert is_secret(secret.inputs["stringData"]), "the Grafana password is not a Pulumi secret"
    assert "admin-password" in reveal(secret.inputs["stringData"])


def test_stack_outputs_are_exported(recorded: Recording, stack: str) -> None:
    expected = {"api_url", "grafana_url", "cluster_name", "cluster_id"}
    if stack != "local":
        expected |= {"kubeconfig", "registry_endpoint"}
    assert expected <= set(recorded.outputs), (
        f"{stack} misses outputs {expected - set(recorded.outputs)}"
    )
