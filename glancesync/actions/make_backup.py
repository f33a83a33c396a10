"""`--make-backup`: one CSV of image metadata per region, the master region's first, in a new
folder under --backup-dir."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from dataclasses import fields

from glancesync.actions.base import ModeAction, RegionVisit, RunStart
from glancesync.files import file_errors, file_name, new_directory, replacing
from glancesync.image import Image
from glancesync.report import RegionBackup, RegionReport

LOG = logging.getLogger(__name__)

# The image record's fields, in its order; tags and properties come last (see backup_row).
BACKUP_FIELDS = tuple(field.name for field in fields(Image) if field.name != "region")


class MakeBackup(ModeAction):
    locks = True
    uses_backup_dir = True

    def begin(self, start: RunStart) -> str:
        """The backup's folder, with the master region's CSV in it."""
        folder = new_directory(start.backup_dir, "backup")
        master_region = start.settings.main.master_region
        path = write_backup(folder, master_region, start.master_listing)
        start.output.record(RegionBackup(master_region, path))
        LOG.info("backup in %s", folder)
        return folder

    def visit(self, visit: RegionVisit) -> RegionReport:
        region = visit.plan.region
        visit.output.record(RegionBackup(region, write_backup(visit.folder, region, visit.listing)))
        return RegionReport(region=region)


def write_backup(folder: str, region: str, images: Sequence[Image]) -> str:
    """One CSV per region (its path returned), named `file_name(region).csv`: a row per image
    with the exact values (RFC 4180), properties as a sorted key=value list. It appears under
    its name only once complete."""
    path = os.path.join(folder, f"{file_name(region)}.csv")
    with file_errors("cannot write the backup", path), replacing(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(BACKUP_FIELDS)
        for image in sorted(images, key=lambda i: (i.name, i.id)):
            writer.writerow(backup_row(image))
    return path


def backup_row(image: Image) -> list[object]:
    """An image's backup row: tags space separated, properties as sorted key=value pairs."""
    row: list[object] = [getattr(image, name) for name in BACKUP_FIELDS[:-2]]
    row.append(" ".join(image.tags))
    row.append(";".join(f"{k}={v}" for k, v in sorted(image.properties.items())))
    return row
