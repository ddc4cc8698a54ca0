"""The stack config as a whole: the stage catalog in Pulumi.yaml, loading and decoding a stack's
config into `StageConfig` or `SharedConfig`, the YAML readers, and clear config errors."""
