"""The `labs:` seed section: labs created through the same PUTs a client sends (so they get
the public repositories and their network), plus lab repositories read from local folders.

```yaml
labs:
  - name: dtl-test
    resourceGroup: rg-lab            # must be seeded under resourceGroups
    location: eastus                 # default: the resource group's
    tags: {team: qa}
    environmentPermission: Contributor   # creators' role on environment groups (default Reader)
    repositories:
      - name: team-repo
        displayName: Team templates   # default: the name
        path: builtin:sample-repository   # or a folder: /abs/path or relative to the cwd
    customImages:
      - {name: golden-ubuntu, osType: Linux, description: "hardened base"}
    formulas:
      - name: web-tester
        image: Canonical:ubuntu-24_04-lts:server   # or customImage: golden-ubuntu
        size: Standard_B2s
        userName: azureuser
        artifacts:                        # from the lab's repositories
          - {source: public repo, artifact: linux-apt-package, parameters: {packages: curl}}
```

A repository folder is laid out as a DevTest Labs Git repository: `Environments/<template>/
azuredeploy.json` (+ `metadata.json`) and `Artifacts/<artifact>/artifactfile.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytask.sandbox.core.provider import Seeder
from pytask.sandbox.providers.devtestlab.repository import BUILTIN_PREFIX

API_VERSION = "2018-09-15"


def _uri(path: str) -> str:
    if path.startswith(BUILTIN_PREFIX):
        return path
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"seed: lab repository folder {folder} does not exist")
    return folder.as_uri()


def seed_labs(seeder: Seeder, spec: Any) -> None:
    if not isinstance(spec, list):
        raise ValueError("seed: 'labs' must be a list")
    for lab in spec:
        if not isinstance(lab, Mapping) or "name" not in lab or "resourceGroup" not in lab:
            raise ValueError("seed: each lab needs a name and a resourceGroup")
        group = f"/subscriptions/{seeder.subscription_id}/resourceGroups/{lab['resourceGroup']}"
        lab_path = f"{group}/providers/Microsoft.DevTestLab/labs/{lab['name']}"
        body: dict[str, Any] = {"properties": {"labStorageType": "Premium"}}
        if lab.get("location"):
            body["location"] = lab["location"]
        if lab.get("tags"):
            body["tags"] = dict(lab["tags"])
        if lab.get("environmentPermission"):
            body["properties"]["environmentPermission"] = str(lab["environmentPermission"])
        seeder.request("PUT", lab_path, API_VERSION, body)
        for repo in lab.get("repositories") or []:
            _repository(seeder, lab_path, repo)
        for image in lab.get("customImages") or []:
            _custom_image(seeder, lab_path, image)
        for formula in lab.get("formulas") or []:
            _formula(seeder, lab_path, formula)
    seeder.finish_operations()


def _repository(seeder: Seeder, lab_path: str, repo: Mapping[str, Any]) -> None:
    if "name" not in repo or "path" not in repo:
        raise ValueError("seed: each lab repository needs a name and a path")
    body = {
        "properties": {
            "displayName": repo.get("displayName") or repo["name"],
            "uri": _uri(str(repo["path"])),
            "sourceType": "GitHub",
            "armTemplateFolderPath": "/Environments",
            "folderPath": "/Artifacts",
            "branchRef": "main",
            "status": "Enabled",
        }
    }
    seeder.request("PUT", f"{lab_path}/artifactsources/{repo['name']}", API_VERSION, body)


def _custom_image(seeder: Seeder, lab_path: str, image: Mapping[str, Any]) -> None:
    os_type = str(image.get("osType") or "Linux")
    state = {"linuxOsInfo": {"linuxOsState": "DeprovisionApplied"}} if os_type == "Linux" else {
        "windowsOsInfo": {"windowsOsState": "SysprepApplied"}}  # fmt: skip
    body = {"properties": {"vm": state, "description": str(image.get("description") or ""),
                           "author": "seed"}}  # fmt: skip
    seeder.request("PUT", f"{lab_path}/customimages/{image['name']}", API_VERSION, body)


def _formula(seeder: Seeder, lab_path: str, formula: Mapping[str, Any]) -> None:
    content: dict[str, Any] = {
        "size": formula.get("size", "Standard_B2s"),
        "userName": formula.get("userName", "azureuser"),
    }
    if formula.get("customImage"):
        content["customImageId"] = f"{lab_path}/customimages/{formula['customImage']}"
    else:
        publisher, offer, sku, *version = str(formula["image"]).split(":")
        content["galleryImageReference"] = {
            "publisher": publisher, "offer": offer, "sku": sku,
            "osType": "Windows" if "windows" in publisher.lower() else "Linux",
            "version": version[0] if version else "latest",
        }  # fmt: skip
    content["artifacts"] = [
        {
            "artifactId": f"{lab_path}/artifactsources/{a['source']}/artifacts/{a['artifact']}",
            "parameters": [{"name": k, "value": str(v)} for k, v in (a.get("parameters") or {})
                           .items()],
        }
        for a in formula.get("artifacts") or []
    ]  # fmt: skip
    body = {"properties": {"description": str(formula.get("description") or ""),
                           "formulaContent": {"properties": content}}}  # fmt: skip
    seeder.request("PUT", f"{lab_path}/formulas/{formula['name']}", API_VERSION, body)
