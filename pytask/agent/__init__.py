"""The Azure Pipelines task protocol for Python: what azure-pipelines-task-lib does for Node.

Imports nothing Azure: only the agent's environment variables and ##vso logging commands.
"""
