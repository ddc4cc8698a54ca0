"""The doctor's CI checks: GitHub (the OIDC subject the repository emits, the plan's environment
protection, reviewers) and Azure DevOps (organization, project, entitlements, service connections)."""
