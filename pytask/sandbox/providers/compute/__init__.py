"""Microsoft.Compute in the sandbox: galleries (gallery/) and VMs and scale sets (vm/)."""
