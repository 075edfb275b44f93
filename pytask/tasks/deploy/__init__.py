"""DeployVmApp@1: apply a gallery application version to VMs and scale sets, watch every
instance install it, and roll back on failure (see pytask/tasks/deploy_vm_app.py)."""
