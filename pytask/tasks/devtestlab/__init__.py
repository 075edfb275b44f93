"""DevTestLabEnv@1's parts: inputs, template parameters, lab look-ups, waiting, environments,
lab VMs, sweep and the report."""
