"""Commands for Azure DevOps admins and release managers: `pytask setup environments` and
`pytask approvals list|approve|reject`, on the azure-devops client."""
