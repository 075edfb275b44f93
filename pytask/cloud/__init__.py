"""One Azure cloud: endpoints, the credential from a service connection, SDK clients."""
