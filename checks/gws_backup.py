"""Google Workspace backup: no Google API exposes backups, so only an attestation can answer."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, NotAssessed, Outcome, check
from hygiene.model import ReasonKind


@check(
    id="gws.backup.configured",
    title="Google Workspace data is backed up",
    area="backup",
    platform="google",
    severity="critical",
    requires=(),
    description="Google Workspace has no API that shows backups (Vault is retention, not backup). The check is "
    "not assessed unless the organisation attests its backup product and the date of its last restore test; an "
    "attested pass is labelled attested, never measured.",
    remediation="Use a Google Workspace backup product (covering Gmail, Drive and shared drives), test a restore, "
    "and record it as an attestation for gws.backup.configured in the exceptions file (statement, date of the "
    "last restore test, who attests, evidence).",
    references=("https://support.google.com/vault/answer/2462365",),
    permissions=("none: attestation only",),
)
def backup_configured(ctx: CheckContext) -> Outcome:
    attested = ctx.attested_outcome()
    if attested is None:
        raise NotAssessed(
            ReasonKind.API_GAP,
            "Google exposes no backup API; record your backup product and last restore test as an attestation",
        )
    return attested
