"""Amazon's public bundles (``DescribeWorkspaceBundles --owner AMAZON``) and the bundle lookup that
includes them. A small, fixed catalogue with public bundle ids clients and moto's tests use.
"""

from __future__ import annotations

from typing import NamedTuple

from simulator.backend import SimWorkSpacesBackend
from simulator.entities import Bundle

# Owner as AWS answers it for the bundles it provides.
AMAZON_OWNER = "Amazon"
# When the catalogue's bundles were published (fixed, so answers do not move with the clock).
CATALOGUE_DATE = 1_600_000_000.0


class AmazonBundle(NamedTuple):
    bundle_id: str
    name: str
    description: str
    compute: str
    root_gib: str
    user_gib: str
    image_id: str


AMAZON_BUNDLES = (
    AmazonBundle(
        "wsb-bh8rsxt14",
        "Value with Windows 10 (English)",
        "Value bundle",
        "VALUE",
        "80",
        "10",
        "wsi-8kzr3tb1v",
    ),
    AmazonBundle(
        "wsb-3t36q0xfc",
        "Standard with Windows 10 (English)",
        "Standard bundle",
        "STANDARD",
        "80",
        "50",
        "wsi-8kzr3tb1v",
    ),
    AmazonBundle(
        "wsb-b0s22j3d7",
        "Performance with Windows 10 (English)",
        "Performance bundle",
        "PERFORMANCE",
        "80",
        "100",
        "wsi-8kzr3tb1v",
    ),
    AmazonBundle(
        "wsb-gm4d5tx2v",
        "Performance with Windows 10 (Server 2016 based)",
        "Performance bundle, Windows 10 experience on Windows Server 2016",
        "PERFORMANCE",
        "80",
        "100",
        "wsi-3l8yxkq5c",
    ),
    AmazonBundle(
        "wsb-1pzkp0bx4",
        "PowerPro with Windows 7",
        "PowerPro bundle",
        "POWERPRO",
        "175",
        "100",
        "wsi-0q4kc7nfm",
    ),
    AmazonBundle(
        "wsb-clj85qzj1",
        "Standard with Amazon Linux 2",
        "Standard bundle, Amazon Linux 2",
        "STANDARD",
        "80",
        "50",
        "wsi-6bq2rnxzt",
    ),
    AmazonBundle(
        "wsb-2bs6k5lgn",
        "Power with Amazon Linux 2",
        "Power bundle, Amazon Linux 2",
        "POWER",
        "175",
        "100",
        "wsi-6bq2rnxzt",
    ),
    AmazonBundle(
        "wsb-03gyjnfyy",
        "Graphics with Windows 10 (Server 2019 based)",
        "Graphics bundle, Windows 10 experience on Windows Server 2019",
        "GRAPHICS",
        "100",
        "100",
        "wsi-2d4hsn9fj",
    ),
)


def amazon_bundles() -> list[Bundle]:
    return [
        Bundle(
            bundle_id=entry.bundle_id,
            name=entry.name,
            description=entry.description,
            owner=AMAZON_OWNER,
            image_id=entry.image_id,
            compute=entry.compute,
            root_capacity=entry.root_gib,
            user_capacity=entry.user_gib,
            created_at=CATALOGUE_DATE,
            updated_at=CATALOGUE_DATE,
            sequence=index,
        )
        for index, entry in enumerate(AMAZON_BUNDLES)
    ]


def find_bundle(backend: SimWorkSpacesBackend, bundle_id: str) -> Bundle | None:
    """One of the account's bundles, or one of Amazon's."""
    if bundle_id in backend.sim_bundles:
        return backend.sim_bundles[bundle_id]
    return next((b for b in amazon_bundles() if b.bundle_id == bundle_id), None)
