"""The typed sections of a stack's config (pydantic models): network, compute, access, CI,
diagnostics, locks, outbound rules, registry access, workspace. Each validates its own keys."""
