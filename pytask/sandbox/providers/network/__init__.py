"""Microsoft.Network in the sandbox: just the virtual networks, subnets and network interfaces
that VMs and scale sets reference."""
