"""Microsoft.Resources/deployments: a minimal ARM template engine (parameters, variables,
resources with copy loops and dependsOn, outputs) whose resources are created through the
sandbox's own routes, as a real deployment's are."""
