"""Pulumi components for who reaches a stage: role assignments, the deployment identities and
their OIDC federated credentials, registry access, GitHub and Azure DevOps environments."""
