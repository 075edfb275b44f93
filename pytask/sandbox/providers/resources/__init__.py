"""Microsoft.Resources: subscriptions, resource groups, resources by group, cloud metadata."""
