"""PublishVmApp's package: a folder always zips to the same bytes, and the input rules."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from pytask.tasks.publish import package, rules


def make_folder(root: Path) -> Path:
    folder = root / "app"
    (folder / "bin").mkdir(parents=True)
    (folder / "empty").mkdir()
    (folder / "install.sh").write_text("#!/bin/sh\necho install\n")
    (folder / "install.sh").chmod(0o755)
    (folder / "bin" / "tool").write_bytes(os.urandom(70_000))
    (folder / "README").write_text("hello")
    return folder


def test_same_folder_gives_same_bytes_whatever_the_timestamps_and_umask(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    first = package.prepare(folder, tmp_path / "one", "app.zip")
    for path in folder.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (folder / "README").chmod(0o600)  # group/other bits are not part of the package
    second = package.prepare(folder, tmp_path / "two", "app.zip")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.zipped_from == folder


def test_content_change_changes_the_hash(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    before = package.prepare(folder, tmp_path / "a", "app.zip").sha256
    (folder / "README").write_text("hello!")
    assert package.prepare(folder, tmp_path / "b", "app.zip").sha256 != before


def test_zip_entries_sorted_with_fixed_times_and_modes(tmp_path: Path) -> None:
    built = package.prepare(make_folder(tmp_path), tmp_path / "out", "app.zip")
    with zipfile.ZipFile(built.path) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert names == ["README", "bin/", "bin/tool", "empty/", "install.sh"]
        assert {i.date_time for i in infos} == {package.FIXED_TIME}
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
        assert modes["install.sh"] == 0o755 and modes["README"] == 0o644
        assert archive.read("README") == b"hello"


def test_a_file_is_its_own_package(tmp_path: Path) -> None:
    file = tmp_path / "pkg.tar.gz"
    file.write_bytes(b"x" * 3_000_000)
    built = package.prepare(file, tmp_path / "work", "ignored.zip")
    assert built.path == file and built.size == 3_000_000 and built.zipped_from is None
    assert built.sha256 == package.sha256_file(file)


@pytest.mark.parametrize(
    ("parse", "good", "bad"),
    [
        (rules.gallery_name, "my.gallery_1", "my-gallery"),
        (rules.application_name, "my-app.1", "app-"),
        (rules.version, "2147483647.0.1", "2147483648.0.1"),
        (rules.storage_account, "acct123", "Acct"),
        (rules.container, "app-packages", "app--packages"),
        (rules.target_regions, "westeurope:2:Standard_ZRS\neastus", "westeurope\nWest Europe"),
        (rules.tags, "team: payments\ncost: 12", "[1, 2]"),
        (rules.future_date, "2999-01-01", "2001-01-01"),
        (rules.blob_url, "https://a.blob.core.windows.net/c1c/x/y.zip", "https://a/c1c/y?sig=1"),
    ],
)
def test_rules_accept_and_reject(parse: object, good: str, bad: str) -> None:
    assert callable(parse)
    parse(good)
    with pytest.raises(ValueError):
        parse(bad)


def test_target_region_parts() -> None:
    region = rules.target_region("westeurope:3:Premium_LRS")
    assert (region.name, region.replicas, region.storage_type) == ("westeurope", 3, "Premium_LRS")
    assert rules.target_region("eastus") == rules.TargetRegion("eastus")
