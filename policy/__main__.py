"""Entry point the Pulumi CLI runs (`python policy/`): serves the pack's policies over gRPC.

Only this file builds the `PolicyPack`, whose constructor blocks forever; the policies live in
`mlinfra_policy`, which the offline checker (`mlinfra check`) and the tests import.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from mlinfra_policy import PACK_NAME, POLICIES

# Advisory unless the pack's config says otherwise: the config generated for a production
# stage sets `"all": "mandatory"` (see mlinfra_policy.config).
PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.ADVISORY, policies=POLICIES)
