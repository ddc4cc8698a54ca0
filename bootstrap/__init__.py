"""The bootstrap project: what the infra pipelines need before their first `pulumi up`."""
