"""Static checks of this repository's CI files (GitHub Actions workflows, Azure Pipelines YAML)."""
