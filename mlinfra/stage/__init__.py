"""Pulumi components and plain modules that build one MLOps stage on Azure."""
