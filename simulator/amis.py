"""Seeded EC2 AMIs with the attributes the seed guide lists (R4), stored in moto's EC2 backend so that
``ec2.describe_images`` (with filters) returns them like AWS does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.ec2 import ec2_backends
from moto.ec2.models.amis import Ami


@dataclass(frozen=True)
class AmiSpec:
    """What a seeded AMI looks like; ``kind`` says why it is (not) importable."""

    name: str
    description: str
    kind: str = "importable"  # importable | encrypted | too_small | too_large | not_machine | pending
    volume_size: int = 50
    volume_type: str = "gp3"
    encrypted: bool = False
    image_type: str = "machine"
    state: str = "available"
    platform_details: str = "Windows BYOL"
    virtualization_type: str = "hvm"
    ena_support: bool = True


DEFAULT_AMI_SPECS: tuple[AmiSpec, ...] = (
    AmiSpec("win10-ent-22h2-golden", "Windows 10 Enterprise 22H2"),
    AmiSpec("win11-ent-23h2-golden", "Windows 11 Enterprise 23H2", volume_size=60),
    AmiSpec("win10-ent-encrypted", "Windows 10 Enterprise (encrypted)", kind="encrypted", encrypted=True),
    AmiSpec("win10-ent-small-disk", "Windows 10 Enterprise (8 GiB disk)", kind="too_small", volume_size=8),
    AmiSpec("win10-ent-huge-disk", "Windows 10 Enterprise (200 GiB disk)", kind="too_large", volume_size=200),
    AmiSpec("win10-kernel", "A kernel image, not a machine image", kind="not_machine", image_type="kernel"),
    AmiSpec(
        "win11-ent-in-progress",
        "Windows 11 Enterprise (still being created)",
        kind="pending",
        state="pending",
    ),
)


class SeededAmi(Ami):
    """A moto AMI whose block device, ENA, platform and image type are set, and filterable."""

    def __init__(self, ec2_backend: Any, ami_id: str, spec: AmiSpec, owner_id: str) -> None:
        super().__init__(
            ec2_backend,
            ami_id,
            name=spec.name,
            description=spec.description,
            owner_id=owner_id,
            virtualization_type=spec.virtualization_type,
            architecture="x86_64",
            state=spec.state,
            platform="windows",
            image_type=spec.image_type,
            hypervisor="xen",
            root_device_type="ebs",
            boot_mode="uefi",
        )
        self.spec = spec
        self.ena_support = spec.ena_support
        self.platform_details = spec.platform_details
        self.usage_operation = "RunInstances:0800"

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:
        return [
            {
                "DeviceName": self.root_device_name,
                "Ebs": {
                    "SnapshotId": self.ebs_snapshot.id,
                    "VolumeSize": self.spec.volume_size,
                    "DeleteOnTermination": True,
                    "VolumeType": self.spec.volume_type,
                    "Encrypted": self.spec.encrypted,
                },
            }
        ]

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        by_name = {
            "image-type": self.image_type,
            "hypervisor": self.hypervisor,
            "ena-support": str(self.ena_support).lower(),
            "platform-details": self.platform_details,
            "block-device-mapping.encrypted": str(self.spec.encrypted).lower(),
            "block-device-mapping.volume-size": str(self.spec.volume_size),
            "block-device-mapping.volume-type": self.spec.volume_type,
            "description": self.description,
        }
        if filter_name in by_name:
            return by_name[filter_name]
        return super().get_filter_value(filter_name, method_name)


def seed_amis(
    account_id: str, region: str, ami_ids: list[str], specs: tuple[AmiSpec, ...] = DEFAULT_AMI_SPECS
) -> list[dict[str, Any]]:
    """Register one AMI per spec (ids given, so callers can make them deterministic)."""
    backend = ec2_backends[account_id][region]
    seeded = []
    for ami_id, spec in zip(ami_ids, specs, strict=True):
        backend.amis[ami_id] = SeededAmi(backend, ami_id, spec, owner_id=account_id)
        seeded.append(
            {
                "image_id": ami_id,
                "name": spec.name,
                "kind": spec.kind,
                "volume_size": spec.volume_size,
                "encrypted": spec.encrypted,
                "image_type": spec.image_type,
                "state": spec.state,
            }
        )
    return seeded
