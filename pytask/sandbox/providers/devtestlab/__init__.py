"""Microsoft.DevTestLab: labs, artifact sources with ARM templates and artifacts, environments
deployed from templates, lab VMs backed by Microsoft.Compute VMs."""
