"""Microsoft.Storage in the sandbox: storage accounts over ARM, blobs served by Azurite.

models.py (account state), responses.py (ARM handlers), urls.py (the Provider), seed.py (the
`storageAccounts:` seed section), service.py (Azurite behind gate.js, following the world).
See docs/sandbox-storage.md.
"""
