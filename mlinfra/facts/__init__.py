"""Facts as data, with no Pulumi or config dependency: built-in role ids and their actions, regions,
registry roles, resource naming rules, CI identity and credential names, and the RBAC matcher."""
