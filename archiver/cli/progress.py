"""Progress of a batch: a live bar on a terminal (done / failed / left, captures per
minute, ETA), one plain line per finished job otherwise."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class JobProgress:
    def __init__(self, console: Console, total: int, concurrency: int, quiet: bool = False):
        self.console = console
        self.total = total
        self.quiet = quiet
        self.done = self.failed = self.partial = self.retried = 0
        self.started = time.monotonic()
        self.live = console.is_terminal and not quiet and total > 1
        self.progress: Progress | None = None
        if self.live:
            self.progress = Progress(
                TextColumn("capturing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
            )
            self.task = self.progress.add_task("jobs", total=total, stats="")
        elif not quiet and total:
            console.print(f"{total} job(s) to capture, {concurrency} at a time", markup=False)

    def __enter__(self) -> "JobProgress":
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
        if not self.quiet and self.total:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            finished = self.done + self.partial + self.failed
            table = Table(title="capture jobs", show_header=True)
            for column in ("complete", "partial", "failed", "retried", "not done", "time", "captures/min"):
                table.add_column(column, justify="right")
            table.add_row(
                str(self.done), str(self.partial), str(self.failed), str(self.retried),
                str(max(self.total - finished, 0)), f"{elapsed:.0f}s", f"{finished / elapsed * 60:.1f}",
            )
            self.console.print(table)

    def update(self, outcome) -> None:  # archiver.jobs.runner.Outcome
        if outcome.state == "retry":
            self.retried += 1
            if not self.quiet:
                self.console.print(f"retry {outcome.job.url}: {outcome.detail}", markup=False)
            return
        if outcome.state == "done":
            self.done += 1
        elif outcome.state == "partial":
            self.partial += 1
        else:
            self.failed += 1
        finished = self.done + self.partial + self.failed
        if self.progress is not None:
            minutes = max(time.monotonic() - self.started, 1e-6) / 60
            stats = f"{self.failed} failed · {finished / minutes:.1f}/min"
            self.progress.update(self.task, completed=finished, stats=stats)
        elif not self.quiet:
            detail = f": {outcome.detail}" if outcome.detail else ""
            self.console.print(
                f"[{finished}/{self.total}] {outcome.state:7} {outcome.job.url} ({outcome.seconds:.1f}s){detail}",
                markup=False,
                soft_wrap=True,
            )
