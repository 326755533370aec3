"""``hygiene demo``: a scan of the built-in sandbox organisation, its insurer evidence pack and the portfolio page,
then the commands to try next, printed so that they work as printed (the demo's history is in its own folder)."""

from __future__ import annotations

import shlex
import shutil
import sys
import threading
import time
from pathlib import Path

import click
from rich.markup import escape

from hygiene.cli.common import err, guard, log_into, out
from hygiene.cli.summary import print_summary
from hygiene.safetext import inert


@click.command("demo")
@click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("hygiene-demo"), show_default=True
)
@click.option("--latency-ms", type=click.IntRange(0, 5000), default=0, help="Simulated vendor latency.")
@click.option("--no-aws", is_flag=True, help="Leave out the AWS sandbox (it needs the optional moto extra).")
@click.pass_context
@guard
def demo(ctx: click.Context, output: Path, latency_ms: int, no_aws: bool) -> None:
    """Scan the built-in sandbox organisation (Northwind Dental: Microsoft 365, Google Workspace, AWS).

    Writes the reports, a signed insurer evidence pack, the portfolio page and the scan history into --output,
    and prints the commands that read them."""
    step = Steps()
    try:
        scan_and_report(ctx, output, latency_ms, no_aws, step)
    finally:
        step.stop()


def scan_and_report(ctx: click.Context, output: Path, latency_ms: int, no_aws: bool, step: Steps) -> None:
    step("loading hygiene and the local fakes of the vendors…")
    from hygiene.demo import run_demo
    from hygiene.evidence.pack import export_pack
    from hygiene.history.store import history_url
    from hygiene.portfolio import build_portfolio, write_portfolio

    output.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_into(ctx, output)
    progress = DemoProgress(step)
    outcome = run_demo(
        output,
        latency_ms=latency_ms,
        with_aws=not no_aws,
        progress=progress,
        reading=progress.read,
        show_drift=True,
        step=step,
        tidy=True,
    )
    step.pause()
    print_summary(outcome.report, {**outcome.files, "snapshot": outcome.snapshot_path})
    organisation = outcome.report.organisation_id
    step("signing the insurer evidence pack…")
    pack = export_pack(organisation, data_dir=output, output=output / "evidence-insurer.zip", audience="insurer")
    step("writing the portfolio page…")
    portfolio = write_portfolio(build_portfolio(output / "demo-config", history_url(output), stale_days=14), output)
    step.pause()
    out.print(plain(f"insurer evidence pack: {pack.path}"))
    out.print(plain(f"portfolio page: {portfolio['html']}"))
    html = outcome.files.get("html")
    if html is not None:
        out.print()
        out.print(f"Open the report: [bold]{plain(str(html.resolve()))}[/bold]")
    out.print()
    out.print(plain(f"Then try these (the demo keeps its history in {output}, so each one names it with --data-dir):"))
    for command, what in follow_ups(program(), output, organisation, pack.path, pack.public_key_path):
        out.print(f"  [dim]# {plain(what)}[/dim]", highlight=False)
        out.print(f"  {plain(command)}", highlight=False)


def plain(text: str) -> str:
    """``text`` made inert and safe from rich markup: paths and names may come from the user or the tenant."""
    return escape(inert(text))


def follow_ups(program: str, output: Path, organisation: str, pack: Path, public_key: Path) -> list[tuple[str, str]]:
    """The commands that read what the demo wrote, as a shell takes them, each with what it shows."""
    folder = shlex.quote(str(output))
    org = shlex.quote(organisation)
    data = f"--data-dir {folder}"
    customer_pack = shlex.quote(str(output / "evidence-customer.zip"))
    return [
        (f"{program} history {org} {data}", "the scans recorded: score, grade, coverage"),
        (f"{program} diff {org} {data}", "what got worse or better since the first scan"),
        (f"{program} frameworks show cyber-essentials {org} {data}", "each control: met, not met, partial"),
        (
            f"{program} evidence export {org} --audience customer {data} --output {customer_pack}",
            "a signed pack for a customer",
        ),
        (
            f"{program} evidence verify {shlex.quote(str(pack))} --key {shlex.quote(str(public_key))}",
            "check the insurer pack's signature",
        ),
        (
            f"{program} portfolio {shlex.quote(str(output / 'demo-config'))} {data} --output {folder}",
            "the consultant's page over every organisation",
        ),
    ]


def program() -> str:
    """How this process was started, as a command a shell can run again: ``hygiene`` when that name on PATH is
    this very program, else the path it was run by (``.venv/bin/hygiene`` from ``make demo``), or
    ``python -m hygiene.cli``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "hygiene"
    path = Path(argv0)
    if path.name == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m hygiene.cli"
    found = shutil.which(path.name)
    if found is not None and path.exists() and Path(found).resolve() == path.resolve():
        return path.name
    return shlex.quote(argv0)


class Steps:
    """Prints each stage of the demo on stderr, with the seconds since it began, on a terminal or not: the demo
    takes a while, and a silent one looks hung. A stage that runs past ``quiet_after`` seconds is named again
    (with the time) every ``quiet_after`` seconds until the next one starts."""

    def __init__(self, quiet_after: float = 5.0) -> None:
        self.quiet_after = quiet_after
        self.start = self.last = time.monotonic()
        self.current = ""
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="hygiene-demo-steps", daemon=True)
        self._ticker.start()

    def __call__(self, message: str) -> None:
        with self._lock:
            self._print(message)
            self.current = message.strip().split(" (")[0].rstrip("…:")

    def meanwhile(self, activity: str) -> None:
        """What is being done now, named only if it runs past ``quiet_after``; empty: nothing (the summary is
        being printed)."""
        with self._lock:
            self.current = activity

    def pause(self) -> None:
        self.meanwhile("")

    def stop(self) -> None:
        self._stopped.set()
        self._ticker.join()

    def _print(self, message: str) -> None:
        self.last = time.monotonic()
        err.print(f"[dim]{self.last - self.start:5.1f}s[/dim] {plain(message)}", highlight=False)

    def _tick(self) -> None:
        while not self._stopped.wait(0.5):
            with self._lock:
                if self.current and time.monotonic() - self.last >= self.quiet_after:
                    self._print(f"  … still {self.current}")


class DemoProgress:
    """A scan's progress as demo steps: each platform as it starts, then, once read, a line with the datasets read
    (of the catalogue's) and the responses it took. Thread-safe: the sources report reads from their pools."""

    def __init__(self, step: Steps) -> None:
        self.step = step
        self._lock = threading.Lock()
        self._datasets: dict[str, set[str]] = {}
        self._responses: dict[str, int] = {}
        self._reading: set[str] = set()

    def __call__(self, name: str, phase: str) -> None:
        """``ScanOptions.progress``: a platform's read starts or is done."""
        from hygiene.sources.platforms import platform

        spec = platform(name)
        if phase == "start":
            with self._lock:
                self._datasets[name] = set()
                self._responses[name] = 0
                self._reading.add(name)
            self.step(f"  reading {spec.title}…")
            return
        with self._lock:
            read = len(self._datasets.get(name, ()))
            responses = self._responses.get(name, 0)
            self._reading.discard(name)
            last = not self._reading  # the platforms are read at once: the next step starts after the last
        self.step(f"  read {spec.title}: {read} of {len(spec.datasets)} datasets, {responses:,} responses")
        if last:
            self.step.meanwhile("evaluating the checks and writing the reports")

    def read(self, name: str, dataset: str | None, count: int) -> None:
        """``ScanOptions.reading``: a response received (its running count), or a dataset (part) read."""
        with self._lock:
            if dataset is None:
                self._responses[name] = count
            else:
                self._datasets.setdefault(name, set()).add(dataset)
