"""portfolio.json: the portfolio (:mod:`hygiene.portfolio`) as JSON, for scripts and dashboards."""

from __future__ import annotations

import json

from hygiene.reports.interface import Portfolio, Renderer


class PortfolioJson(Renderer[Portfolio]):
    """portfolio.json, UTF-8 (non-ASCII characters escaped), indented by two spaces."""

    name = "portfolio-json"
    file_name = "portfolio.json"
    media_type = "application/json"

    def render(self, model: Portfolio) -> bytes:
        return (json.dumps(model.to_json(), indent=2) + "\n").encode("utf-8")
