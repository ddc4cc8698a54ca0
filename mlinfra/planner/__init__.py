"""Offline planner: runs the real Pulumi program under Pulumi's mock engine and shows what
`pulumi up` would register, without the Pulumi CLI or any cloud call (see README.md, "Two commands")."""
