"""What every engine or app process the tests start has in common: stop, crash, read its log."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

# Set to 1 to keep an engine's temp dir (config, data, log) when its `with` block fails.
KEEP_DIRS_ENV = "TASKSTREAM_KEEP_ENGINE_DIRS"


class ManagedProcess:
    """A subprocess whose output goes to `log_path`; subclasses start it into `_process`."""

    log_path: Path
    _process: subprocess.Popen[bytes] | None = None
    # How long a graceful shutdown may take before SIGKILL.
    stop_timeout: float = 20.0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def kill(self) -> None:
        """Crash it (SIGKILL): whatever was in flight is neither committed nor acknowledged."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:]) or "(no log yet)"


class EngineProcess(ManagedProcess):
    """An engine with a temp work dir, used as a context manager: start on entry, and on
    exit stop it and remove the dir (kept after a failure when KEEP_DIRS_ENV=1)."""

    workdir: Path

    def start(self) -> None:
        raise NotImplementedError

    def close(self, keep_dir: bool = False) -> None:
        self.stop()
        if not keep_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(keep_dir=exc is not None and os.environ.get(KEEP_DIRS_ENV) == "1")
