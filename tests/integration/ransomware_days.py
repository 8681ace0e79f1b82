"""A OneDrive's life for the ransomware signal's tests: realistic files added, busy normal days of edits that teach
the baseline, then the simulator's "encrypt" (random bytes and '.locky' on most files, one change each)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from tests.integration.tenant import Tenant

DAYS = 4  # normal days after the full backup: the change shares' baseline needs three
EDITS = 12  # files edited a day, of about 36: a third, over RANSOMWARE_CHANGE_PERCENT's 30 %


def text(label: str, day: int) -> bytes:
    return "\n".join(f"{label}, day {day}: line {n} of the minutes, nothing unusual." for n in range(300)).encode()


def content(name: str, day: int) -> bytes:
    """A .docx starts as the zip it is (compressed, so judged by its magic number only); others are plain text."""
    return b"PK\x03\x04" + zlib.compress(text(name, day)) if name.endswith(".docx") else text(name, day)


@dataclass
class Attack:
    drive: str
    names: list[str]
    ids: dict[str, str]  # name -> item id
    normal: list[dict[str, Any]] = field(default_factory=list)  # the runs before the attack, full backup first
    attacked: dict[str, Any] = field(default_factory=dict)  # the run after it
    hit: list[dict[str, Any]] = field(default_factory=list)  # {id, was, name} of every encrypted file

    def day_of(self, name: str) -> int:
        """The day of `name`'s last edit before the attack (day d edits names[d : d + EDITS]; 0: as added)."""
        index = self.names.index(name)
        return max((day for day in range(1, DAYS + 1) if day <= index < day + EDITS), default=0)


def busy_days_then_encrypt(tenant: Tenant, drive: str, resources: list[str] | None = None) -> Attack:
    """30 realistic files added to `drive`, a backup, DAYS busy days (EDITS edits and a rename, then a backup each),
    then 70 % of the drive's files encrypted and backed up (`resources`: what each backup covers)."""
    control = tenant.sim.control
    names = [f"Note {n:02d}.txt" for n in range(15)] + [f"Report {n:02d}.docx" for n in range(15)]
    ids = {name: control.add_drive_item(drive, name, content=content(name, 0))["id"] for name in names}
    attack = Attack(drive, names, ids, normal=[tenant.backup(resources=resources)])
    for day in range(1, DAYS + 1):
        for name in names[day : day + EDITS]:
            control.modify_drive_item(drive, ids[name], content=content(name, day))
        control.rename_drive_item(drive, ids[names[day]], f"Renamed {day}.txt")
        attack.normal.append(tenant.backup(resources=resources))
    attack.hit = control.encrypt_drive(drive, percent=70)
    attack.attacked = tenant.backup(resources=resources)
    return attack
