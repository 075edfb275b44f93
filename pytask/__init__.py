"""VM Application Release: Azure Pipelines tasks for Azure VM Applications.

`__version__` is the single version source: the build stamps it into every task.json
and into vss-extension.json.
"""

__version__ = "1.0.0"
