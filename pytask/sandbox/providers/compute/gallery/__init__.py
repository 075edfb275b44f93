"""Azure Compute Gallery in the sandbox: galleries, VM applications and their versions."""
