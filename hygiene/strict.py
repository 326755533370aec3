"""The one strict pydantic base: every file hygiene reads and every record it writes refuses unknown keys.

A leaf module (pydantic only), so every layer can use it. A misspelt key in a config, profile, exceptions file,
questionnaire or snapshot is an error naming the key, never silently ignored; a report or history record can
never carry a field its schema does not declare (``additionalProperties: false`` in the JSON Schema).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: the configuration of every strict model; pydantic dataclasses (the snapshot's per-resource records) take it
#: as ``config=STRICT_CONFIG``
STRICT_CONFIG = ConfigDict(extra="forbid")


class StrictModel(BaseModel):
    """Unknown keys are refused; instances are mutable (the engine and sources fill them in)."""

    model_config = STRICT_CONFIG


class FrozenModel(StrictModel):
    """Strict and immutable: data loaded once from a packaged file (framework catalogues and mappings, answer
    questionnaires) and shared read-only; the one difference from ``StrictModel`` is ``frozen=True``."""

    model_config = ConfigDict(frozen=True)
