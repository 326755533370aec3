"""The deployment recipes: systemd units verify, the Dockerfile lints, manifests and task XML hold their promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HYGIENE = Path(sys.executable).with_name("hygiene")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    systemd = DEPLOY / "systemd"
    for unit in sorted([*systemd.glob("*.service"), *systemd.glob("*.timer")]):
        text = unit.read_text().replace("/opt/hygiene/venv/bin/hygiene", str(HYGIENE))
        (tmp_path / unit.name.replace("@.", "@northwind.")).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    service = (DEPLOY / "systemd" / "hygiene-scan@.service").read_text()
    for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "UMask=0077", "User=hygiene"):
        assert hardening in service
    assert "Persistent=true" in (DEPLOY / "systemd" / "hygiene-scan@.timer").read_text()
    agent = (DEPLOY / "systemd" / "hygiene-agent.service").read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in agent and "agent /etc/hygiene/orgs" in agent


def test_dockerfile_lints_and_runs_as_non_root() -> None:
    dockerfile = DEPLOY / "container" / "Dockerfile"
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if Path(hadolint).exists():
        result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "USER 10001:10001" in dockerfile.read_text()


def test_compose_is_read_only_and_non_root() -> None:
    compose = yaml.safe_load((DEPLOY / "container" / "compose.yaml").read_text())
    service = compose["services"]["hygiene"]
    assert service["read_only"] is True and service["user"] == "10001:10001" and service["cap_drop"] == ["ALL"]
    assert "./config:/config:ro" in service["volumes"]


@pytest.mark.parametrize("manifest", ["cronjob.yaml", "fleet-cronjob.yaml", "fleet-job.yaml", "portfolio-cronjob.yaml"])
def test_kubernetes_manifests_validate_against_the_schema(manifest: str) -> None:
    validator = Path(sys.executable).with_name("kubernetes-validate")
    if not validator.exists():
        pytest.skip("kubernetes-validate is not installed")
    result = subprocess.run(
        [str(validator), "--strict", "-k", "1.30.0", str(DEPLOY / "kubernetes" / manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "passed" in result.stdout + result.stderr, result.stdout + result.stderr


def test_kubernetes_cronjob() -> None:
    job = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "CronJob"
    spec = job["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["schedule"] == "0 2 * * 1"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/config", "/data", "/tmp"} <= mounts


def _pod(job_spec: dict[str, Any]) -> dict[str, Any]:
    pod = job_spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e for e in container.get("env", [])}
    assert env["HYGIENE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "hygiene-database", "key": "url"}
    return pod


@pytest.mark.parametrize("manifest", ["fleet-cronjob.yaml", "fleet-job.yaml"])
def test_kubernetes_fleet_shards_cover_every_index_once(manifest: str) -> None:
    """Each pod of the Indexed Job scans `--shard INDEX/COUNT` with INDEX its completion index and COUNT the number
    of completions: every organisation in exactly one pod, into the one shared database."""
    document = yaml.safe_load((DEPLOY / "kubernetes" / manifest).read_text())
    spec = document["spec"]["jobTemplate"]["spec"] if document["kind"] == "CronJob" else document["spec"]
    if document["kind"] == "CronJob":
        assert document["spec"]["concurrencyPolicy"] == "Forbid"
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == spec["completions"]
    container = _pod(spec)["containers"][0]
    args = container["args"]
    assert args[:2] == ["scan-all", "/config"]
    assert args[args.index("--shard") + 1] == f"$(SHARD_INDEX)/{spec['completions']}"
    env = {e["name"]: e for e in container["env"]}
    index = env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert index == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    rule = spec["podFailurePolicy"]["rules"][0]  # a shard's bad organisations fail its index, never a rescan
    assert rule["action"] == "FailIndex" and set(rule["onExitCodes"]["values"]) == {1, 2, 3}
    assert "backoffLimitPerIndex" in spec


def test_kubernetes_fleet_job_is_the_cronjob_s_job() -> None:
    cron = yaml.safe_load((DEPLOY / "kubernetes" / "fleet-cronjob.yaml").read_text())
    job = yaml.safe_load((DEPLOY / "kubernetes" / "fleet-job.yaml").read_text())
    assert job["spec"] == cron["spec"]["jobTemplate"]["spec"]


def test_kubernetes_portfolio_reads_the_shared_database() -> None:
    cron = yaml.safe_load((DEPLOY / "kubernetes" / "portfolio-cronjob.yaml").read_text())
    container = _pod(cron["spec"]["jobTemplate"]["spec"])["containers"][0]
    assert container["args"][:2] == ["portfolio", "/config"]


def test_windows_task() -> None:
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    root = ET.parse(DEPLOY / "windows" / "hygiene-scan.xml").getroot()  # noqa: S314 - our own file
    assert root.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=ns) == "IgnoreNew"
    assert root.findtext("t:Settings/t:StartWhenAvailable", namespaces=ns) == "true"
    assert root.find("t:Triggers/t:CalendarTrigger/t:ScheduleByWeek/t:DaysOfWeek/t:Monday", ns) is not None
    assert "scan" in (root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=ns) or "")
    script = (DEPLOY / "windows" / "install-hygiene-task.ps1").read_text()
    assert "Register-ScheduledTask" in script and "config validate" in script
