"""Composition root: read the stack config, build the platform, export its outputs."""

import pulumi

from infra.config import load_stack_config
from infra.program import build

for key, value in build(load_stack_config()).items():
    pulumi.export(key, value)
