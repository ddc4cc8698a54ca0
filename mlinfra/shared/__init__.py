"""The shared stack's Pulumi component: the model registry every stage promotes through."""
