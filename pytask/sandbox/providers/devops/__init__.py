"""The Azure DevOps REST surface `pytask setup` and `pytask approvals` use: location and
resource-area discovery, identities, environments, check configurations, approvals and
build timelines, for the sandbox's one organization."""
