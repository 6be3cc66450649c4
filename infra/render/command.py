"""What `taskstream render` prints: the plan, where the files went, the policy verdict, the time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

Echo = Callable[..., None]


def run_command(stack: str, out: Path, project_dir: Path, echo: Echo) -> int:
    """Render and report; the exit code is 0 when clean, 1 on violations, 2 on bad input."""
    # The clock starts before the program's SDKs are imported: that is most of the cost.
    started = time.perf_counter()
    from infra.config_fields import ConfigError
    from infra.render.plan import plan_text
    from infra.render.run import render
    from infra.render.source import StackNotFoundError
    from policy.rules import RULES

    try:
        result = render(stack, out, project_dir)
    except (StackNotFoundError, ConfigError) as error:
        echo(f"cannot render {stack}: {error}", err=True)
        return 2
    echo(plan_text(result.plan))
    echo("")
    written = ", ".join(f"{n} {kind}" for kind, n in sorted(result.counts.items()))
    echo(f"wrote {len(result.files)} files to {out} ({written}), plan.json and graph.mmd")
    if result.stand_ins:
        echo(f"offline stand-ins for secret config: {', '.join(result.stand_ins)}")
    echo("secrets are shown as [secret]")
    if result.violations:
        echo(f"policy: {len(result.violations)} violation(s) of {len(RULES)} rules")
        for violation in result.violations:
            echo(f"  {violation}")
    else:
        echo(f"policy: no violations of {len(RULES)} rules")
    echo(f"rendered {stack} in {time.perf_counter() - started:.2f} s")
    return 1 if result.violations else 0
