"""A stack that breaks a policy rule fails the render, and bad input fails it cleanly."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from taskstream.cli import cli
from tests.infra.render.rendered import ROOT, invoke


def test_a_prod_deployment_with_one_replica_fails_the_render_and_names_the_rule(
    tmp_path: Path,
) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text(encoding="utf-8"))
    document["config"]["taskstream:services"]["api"]["replicas"] = 1
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    result = invoke("prod", tmp_path / "out", project_dir=tmp_path)
    assert result.exit_code == 1, f"a violating stack exited {result.exit_code}:\n{result.output}"
    assert "[prod-replicas] kubernetes:apps/v1:Deployment 'api'" in result.output, (
        f"the violation was not printed:\n{result.output}"
    )
    assert (tmp_path / "out" / "plan.json").exists(), "the render was not written for review"


def test_an_unknown_stack_fails_with_the_stacks_that_exist(tmp_path: Path) -> None:
    args = ["render", "--stack", "qa", "--out", str(tmp_path), "--project-dir", str(ROOT)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, f"an unknown stack exited {result.exit_code}"
    assert "dev, local, prod" in result.output, (
        f"the known stacks were not listed:\n{result.output}"
    )


def test_a_bad_config_value_fails_with_the_key_it_names(tmp_path: Path) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    document["config"]["taskstream:imageTag"] = "latest"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    result = invoke("dev", tmp_path / "out", project_dir=tmp_path)
    assert result.exit_code == 2, f"a bad config exited {result.exit_code}:\n{result.output}"
    assert "taskstream:imageTag" in result.output, f"the key was not named:\n{result.output}"
