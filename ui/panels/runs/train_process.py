"""``netstudio train`` in a child process the Runs view follows, and stops cleanly on Cancel.

Training in its own process keeps the window responsive and the run
reproducible from its command line (``run.json`` records it).  Cancel sends
an interrupt, as Ctrl+C would: the run stops between two steps and exits with
130, its checkpoints whole (each is written atomically); only a process that
ignores it for ``KILL_AFTER_MS`` is killed.  How the run ended is one sentence:
the last line the command wrote on stderr when it failed.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

KILL_AFTER_MS = 5000
INTERRUPTED = 130


@dataclass(frozen=True)
class TrainRequest:
    """What ``netstudio train`` is asked to do."""

    project: Path
    data: Path
    run_dir: Path
    steps: int
    batch_size: int
    lr: float
    save_every: int

    def arguments(self) -> list[str]:
        return ["-m", "netstudio", "train", str(self.project), "--data", str(self.data),
                "--run-dir", str(self.run_dir), "--steps", str(self.steps), "--batch-size", str(self.batch_size),
                "--lr", repr(self.lr), "--save-every", str(self.save_every)]


class TrainProcess(QObject):
    """One run at a time; ``ended(sentence)`` says how it ended."""

    ended = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self._cancelled = False
        self._kill_timer = QTimer(self, singleShot=True, interval=KILL_AFTER_MS)
        self._kill_timer.timeout.connect(self._kill)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, request: TrainRequest) -> None:
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.setStandardOutputFile(QProcess.nullDevice())
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._failed_to_start)
        self.process, self._cancelled = process, False
        process.start(sys.executable, request.arguments())

    def cancel(self) -> None:
        """Interrupt the run (Ctrl+C); kill it if it has not stopped ``KILL_AFTER_MS`` later."""
        if not self.running:
            return
        self._cancelled = True
        if os.name == "posix":
            os.kill(self.process.processId(), signal.SIGINT)
        else:
            self.process.terminate()
        self._kill_timer.start()

    def stop_now(self) -> None:
        """Interrupt the run and wait for it (the app is closing): Ctrl+C, then kill ``KILL_AFTER_MS`` later."""
        if not self.running:
            return
        self.cancel()
        if not self.process.waitForFinished(KILL_AFTER_MS):
            self.process.kill()
            self.process.waitForFinished(2000)

    def _kill(self) -> None:
        if self.running:
            self.process.kill()

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.process = None
            self.ended.emit(f"Training could not start: {sys.executable} did not run.")

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        process = self.process
        lines = bytes(process.readAllStandardError()).decode("utf-8", "replace").strip().splitlines()
        last = lines[-1].removeprefix("netstudio: ").strip() if lines else ""
        if self._cancelled and status == QProcess.ExitStatus.NormalExit and code == INTERRUPTED:
            sentence = "Training cancelled; the checkpoints saved so far are kept."
        elif self._cancelled:
            sentence = "Training was killed when it did not stop on Cancel; the checkpoints saved so far are kept."
        elif status == QProcess.ExitStatus.NormalExit and code == 0:
            sentence = "Training finished."
        else:
            sentence = last if last.endswith(".") else f"Training stopped (exit code {code})."
        process.deleteLater()
        self.process = None
        self.ended.emit(sentence)
