"""Stored JSON (a job's parameters and result, an item's parameters) as rows a person reads: labels in
words, lists joined, nested records as their own rows, never raw JSON."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenants.choices import ComputeType

# Keys whose plain humanized form would read badly or leak an internal word.
LABELS = {
    "aws_account_id": "AWS account",
    "workspace_ids": "WorkSpaces",
    "workspace_id": "WorkSpace",
    "bundle_id": "Bundle",
    "directory_id": "Directory",
    "image_id": "Image",
    "not_eligible": "Not eligible (reason: desktops)",
    "eligible": "Eligible desktops",
    "desktops_seen": "Desktops seen in AWS",
    "desktops_updated": "Rows updated",
    "desktops_adopted": "Desktops adopted",
    "desktops_linked": "Desktops linked",
    "desktops_untracked": "WorkSpaces we do not manage",
    "desktops_missing": "Desktops missing from AWS",
    "desktops_terminated": "Desktops terminated",
    "stopped_by_aws": "Stopped by AWS (48-hour rule)",
    "lost_tag": "Without the PartnerManaged tag",
    "regions_failed": "Regions that could not be read",
}
LIST_SHOWN = 20


@dataclass(frozen=True)
class Row:
    """One line of a readable table: its label, its value in words, and how deep it is nested."""

    label: str
    value: str
    depth: int = 0


def label_for(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    if not re.fullmatch(r"[a-z_]+", key):
        return key  # a name of AWS's (a region, an id), shown as it is
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def readable_rows(data: Any, depth: int = 0) -> list[Row]:
    """A dict as rows; nested dicts become an empty-valued heading row followed by their own rows."""
    if not isinstance(data, dict):
        return [Row("Value", readable_value(data), depth)] if data not in (None, "", [], {}) else []
    rows: list[Row] = []
    for key, value in data.items():
        if isinstance(value, dict) and value and not _is_flat_counts(value):
            rows.append(Row(label_for(str(key)), "", depth))
            rows.extend(readable_rows(value, depth + 1))
        else:
            rows.append(Row(label_for(str(key)), readable_value(value), depth))
    return rows


def _is_flat_counts(value: dict) -> bool:
    return (
        all(isinstance(v, int | str) and not isinstance(v, bool) for v in value.values()) and len(value) <= 6
    )


def readable_value(value: Any) -> str:
    """One value in words: lists joined (long ones cut, with how many more), small dicts as "key: value"."""
    if isinstance(value, list):
        if not value:
            return "none"
        shown = [readable_value(v) for v in value[:LIST_SHOWN]]
        more = len(value) - LIST_SHOWN
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    if isinstance(value, dict):
        if not value:
            return "none"
        return "; ".join(f"{label_for(str(k))}: {readable_value(v)}" for k, v in value.items())
    return _scalar(value)


def duration_words(started: datetime | None, finished: datetime | None, now: datetime) -> str:
    """How long something ran (or has been running), e.g. "2 min 5 s"; empty if it never started."""
    if started is None:
        return ""
    seconds = int(((finished or now) - started) / timedelta(seconds=1))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# AWS's name and size of each compute type (AWS's public bundle pages); types whose size we do not carry
# show AWS's name alone rather than a guess.
COMPUTE_TYPE_SIZES: dict[str, tuple[str, str]] = {
    "VALUE": ("Value", "1 vCPU, 2 GiB"),
    "STANDARD": ("Standard", "2 vCPU, 4 GiB"),
    "PERFORMANCE": ("Performance", "2 vCPU, 8 GiB"),
    "POWER": ("Power", "4 vCPU, 16 GiB"),
    "POWERPRO": ("PowerPro", "8 vCPU, 32 GiB"),
    "GENERALPURPOSE_4XLARGE": ("GeneralPurpose.4xlarge", "16 vCPU, 64 GiB"),
    "GENERALPURPOSE_8XLARGE": ("GeneralPurpose.8xlarge", "32 vCPU, 128 GiB"),
    "GRAPHICS": ("Graphics", "8 vCPU, 15 GiB, 1 GPU"),
    "GRAPHICSPRO": ("GraphicsPro", "16 vCPU, 122 GiB, 1 GPU"),
    "GRAPHICS_G4DN": ("Graphics.g4dn", "4 vCPU, 16 GiB, 1 GPU"),
    "GRAPHICSPRO_G4DN": ("GraphicsPro.g4dn", "16 vCPU, 64 GiB, 1 GPU"),
    "GRAPHICS_G6_XLARGE": ("Graphics.g6.xlarge", "4 vCPU, 16 GiB, 1 GPU"),
    "GRAPHICS_G6_2XLARGE": ("Graphics.g6.2xlarge", "8 vCPU, 32 GiB, 1 GPU"),
    "GRAPHICS_G6_4XLARGE": ("Graphics.g6.4xlarge", "16 vCPU, 64 GiB, 1 GPU"),
    "GRAPHICS_G6_8XLARGE": ("Graphics.g6.8xlarge", "32 vCPU, 128 GiB, 1 GPU"),
    "GRAPHICS_G6_16XLARGE": ("Graphics.g6.16xlarge", "64 vCPU, 256 GiB, 1 GPU"),
    "GRAPHICS_GR6_4XLARGE": ("Graphics.gr6.4xlarge", "16 vCPU, 128 GiB, 1 GPU"),
    "GRAPHICS_GR6_8XLARGE": ("Graphics.gr6.8xlarge", "32 vCPU, 256 GiB, 1 GPU"),
    "GRAPHICS_G6F_LARGE": ("Graphics.g6f.large", "2 vCPU, 8 GiB, 1/8 GPU"),
    "GRAPHICS_G6F_XLARGE": ("Graphics.g6f.xlarge", "4 vCPU, 16 GiB, 1/8 GPU"),
    "GRAPHICS_G6F_2XLARGE": ("Graphics.g6f.2xlarge", "8 vCPU, 32 GiB, 1/4 GPU"),
    "GRAPHICS_G6F_4XLARGE": ("Graphics.g6f.4xlarge", "16 vCPU, 64 GiB, 1/2 GPU"),
    "GRAPHICS_GR6F_4XLARGE": ("Graphics.gr6f.4xlarge", "16 vCPU, 128 GiB, 1/2 GPU"),
}


def compute_type_label(value: str) -> str:
    """A compute type as people know it, with its size: "Standard (2 vCPU, 4 GiB)"."""
    if not value:
        return "—"
    if value in COMPUTE_TYPE_SIZES:
        name, size = COMPUTE_TYPE_SIZES[value]
        return f"{name} ({size})"
    # GRAPHICS_G7_2XLARGE -> Graphics.g7.2xlarge
    family, _, rest = value.partition("_")
    return ".".join([family.capitalize(), *rest.lower().split("_")]) if rest else value.capitalize()


COMPUTE_TYPE_CHOICES = [(value, compute_type_label(value)) for value in ComputeType.values]
