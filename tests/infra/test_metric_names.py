"""Every taskstream metric the alerts and dashboards query is one the processes export."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import REGISTRY

# Importing these registers every metric the processes export.
import app.events.relay
import app.metrics  # noqa: F401
import workers.http
import workers.lag_exporter
import workers.runtime  # noqa: F401
from infra.alert_rules import rule_groups

DASHBOARDS = Path(__file__).resolve().parents[2] / "infra" / "dashboards"
_NAME = re.compile(r"taskstream_[a-z_]+")
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def _exported() -> set[str]:
    names = set()
    for collector in list(REGISTRY._collector_to_names):
        names.update(REGISTRY._collector_to_names[collector])
    return names


def _queried() -> set[str]:
    texts = [str(rule_groups("taskstream"))]
    texts += [path.read_text() for path in DASHBOARDS.glob("*.json")]
    names = set()
    for text in texts:
        for name in _NAME.findall(text):
            suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
            names.add(name.removesuffix(suffix))
    return names


def test_alerts_and_dashboards_only_query_metrics_the_app_exports() -> None:
    queried = _queried()
    assert queried, "no taskstream metric found in alerts or dashboards"
    exported = _exported()
    missing = {n for n in queried if n not in exported and f"{n}_total" not in exported}
    assert not missing, f"alerts/dashboards query metrics nobody exports: {sorted(missing)}"
