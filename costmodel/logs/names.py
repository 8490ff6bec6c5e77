"""The log formats callwise reads, by name, and the vendor whose platform writes each.

Plain data with no heavy imports: the command line lists the formats in its ``--help``.
"""

from __future__ import annotations

__all__ = ["FORMATS", "FORMAT_VENDORS"]

#: Formats ``read_logs`` understands (plus ``"auto"``).
FORMATS: tuple[str, ...] = (
    "aws",
    "aws-json",
    "aws-events",
    "aws-insights-csv",
    "fc",
    "fc-sls",
    "gcp-json",
    "csv",
)

#: The vendor whose platform writes each log format (its stated billed duration is
#: that vendor's own billing).
FORMAT_VENDORS: dict[str, str] = {
    "aws": "aws",
    "aws-json": "aws",
    "aws-events": "aws",
    "aws-insights-csv": "aws",
    "fc": "alibaba",
    "fc-sls": "alibaba",
    "gcp-json": "gcp",
}
