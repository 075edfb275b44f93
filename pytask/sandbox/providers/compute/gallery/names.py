"""Gallery, application and version name rules, with the errors GalleryRP answers.

Kept apart from the handlers so the rules read as one table: what Azure accepts and what it says
when it does not.
"""

from __future__ import annotations

import re

from pytask.sandbox.core.errors import ArmError

INT32_MAX = 2_147_483_647

# Portal and service agree: letters, digits, `.` and `_`, not first or last; up to 80.
_GALLERY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._]{0,78}[A-Za-z0-9])?$")
# The spec's pattern for application (definition) names: ^[^_\W][\w-._]{0,79}(?<![-.])$
_APPLICATION = re.compile(r"^[A-Za-z0-9][\w.-]{0,79}(?<![-.])$", re.ASCII)
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def check_gallery_name(name: str) -> None:
    if not _GALLERY.match(name):
        raise ArmError(
            400,
            "InvalidParameter",
            "Gallery name is invalid. Allowed characters in gallery name are uppercase or "
            "lowercase letters, digits, dots, and underscores. The name cannot begin or end "
            "with dots or underscores, and can be at most 80 characters long.",
            "galleryName",
        )


def check_application_name(name: str) -> None:
    if not _APPLICATION.match(name):
        raise ArmError(
            400,
            "InvalidParameter",
            "The gallery application name is invalid. It can contain only letters, digits, "
            "'_', '-' and '.', must start with a letter or digit, cannot end with '-' or '.', "
            "and can be at most 80 characters long.",
            "galleryApplicationName",
        )


def parse_version(name: str) -> tuple[int, int, int] | None:
    """Major.Minor.Patch as ints within int32, or None when the name is not one."""
    match = _VERSION.match(name)
    if match is None:
        return None
    parts = tuple(int(p) for p in match.groups())
    if any(p > INT32_MAX for p in parts):
        return None
    return parts[0], parts[1], parts[2]


def check_version_name(name: str) -> tuple[int, int, int]:
    parsed = parse_version(name)
    if parsed is None:
        raise ArmError(
            400,
            "InvalidParameter",
            "The gallery application version name is invalid. The version name should follow "
            "Major(int).Minor(int).Patch(int) format, where int is between 0 and 2,147,483,647 "
            "(inclusive). For e.g: 1.0.0, 2018.12.1 etc.",
            "galleryApplicationVersionName",
        )
    return parsed
