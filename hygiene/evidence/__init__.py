"""Signed evidence packs: a scan's reports, method and exceptions register in one zip, minimised for its
audience (insurer, customer, internal), with a SHA-256 manifest signed with Ed25519 (see docs/evidence.md)."""

from __future__ import annotations

from hygiene.evidence.keys import EvidenceKeys, Pseudonymiser, fingerprint
from hygiene.evidence.pack import AUDIENCES, ExportResult, build_pack, export_pack
from hygiene.evidence.verify import VerifyResult, verify_pack

__all__ = [
    "AUDIENCES",
    "EvidenceKeys",
    "ExportResult",
    "Pseudonymiser",
    "VerifyResult",
    "build_pack",
    "export_pack",
    "fingerprint",
    "verify_pack",
]
