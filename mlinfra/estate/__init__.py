"""The estate verifier: one offline model of every stack the repository ships, and its findings.

The model (DESIGN.md, "Round 3"): the stacks and their plans (`inventory`), who runs each one
(`identities`, `delivery`), the rights each planned resource needs (`needs`) against what each
identity holds (`rbac`, `rights`), the network paths each use on the delivery path needs
(`reachability`), and the prerequisites people fulfil by hand (`prerequisites`, read from
`prerequisites.yaml`). `model.build()` puts it together; `command` is `mlinfra estate`.
Every finding carries a rule id defined in docs/security-model.md (section O).
"""
