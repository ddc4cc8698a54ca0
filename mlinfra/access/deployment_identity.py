"""`DeploymentIdentity`: the identity one stage's CI/CD pipelines sign in as.

One per stage, never shared (ID-5, P14's 20-credential limit). Either an Entra application
with its service principal (default) or a user-assigned managed identity (no Entra
app-registration rights needed). It trusts nobody by itself: the CI environment components
add the federated credential for exactly their environment. A client secret exists only
when the stage asks for `client-secret`, with an expiry, and only as a Pulumi secret (ID-1).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity

from mlinfra.settings.access_settings import CredentialMode, IdentityKind

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
"""The audience every federated credential here accepts (ID-2)."""


@dataclass(frozen=True, kw_only=True)
class DeploymentIdentityArgs:
    display_name: str
    """App registration display name, or managed identity name."""
    resource_group_name: pulumi.Input[str]
    """Where a managed identity is created (unused for an Entra application)."""
    location: str
    """Region of a managed identity."""
    tags: Mapping[str, str]
    """Tags of a managed identity (Entra objects take no Azure tags)."""
    kind: IdentityKind = IdentityKind.ENTRA_APPLICATION
    """Default: an Entra application + service principal."""
    credential: CredentialMode = CredentialMode.FEDERATED
    """Default: federated only, no secret."""
    client_secret_expiry: datetime.date | None = None
    """End date of the client secret; required with `client-secret`."""
    owners: Sequence[str] = ()
    """Object ids owning the app and its service principal; required for an Entra application."""


class DeploymentIdentity(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    """Application (client) id pipelines log in with (AZURE_CLIENT_ID)."""
    principal_id: pulumi.Output[str]
    """Object id Azure RBAC authorizes (service principal or managed identity principal)."""
    application_id: pulumi.Output[str] | None
    """`/applications/<objectId>` of the app registration: where federated credentials go (P17)."""
    client_secret: pulumi.Output[str] | None
    """The password, as a Pulumi secret, in `client-secret` mode only; never exported."""

    def __init__(self, name: str, args: DeploymentIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:DeploymentIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.application_id = None
        self.client_secret = None
        self._managed_identity: managedidentity.UserAssignedIdentity | None = None
        self._resource_group_name = args.resource_group_name
        self._last_credential: pulumi.Resource | None = None

        if args.kind == IdentityKind.MANAGED_IDENTITY:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-uami",
                resource_name_=args.display_name,  # P7: kwargs form, `resource_name_`
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=dict(args.tags),
                opts=child,
            )
            self.client_id = identity.client_id
            self.principal_id = identity.principal_id
            self._managed_identity = identity
        else:
            import pulumi_azuread as azuread  # loaded only for this kind (start-up cost, P8)

            # Owners come from config, never from whoever runs this: the provider removes every
            # owner not listed, so an ambient caller would flip them on each run by another
            # identity and lock out an Application.ReadWrite.OwnedBy deployer (P17). Leaving them
            # out is no better: the provider then removes the caller after creating the app.
            # The pipeline identity itself is never an owner (ID-6).
            if not args.owners:
                raise ValueError("an Entra application needs owners (mlinfra:deploymentIdentity.owners)")
            owners = list(args.owners)
            application = azuread.Application(
                f"{name}-app",
                display_name=args.display_name,
                sign_in_audience="AzureADMyOrg",  # single tenant: required by ADO's WIF issuer (P16)
                owners=owners,
                prevent_duplicate_names=True,
                opts=child,
            )
            principal = azuread.ServicePrincipal(
                f"{name}-sp",
                client_id=application.client_id,
                owners=owners,
                opts=child,
            )
            self.application_id = application.id
            self.client_id = application.client_id
            self.principal_id = principal.object_id
            if args.credential == CredentialMode.CLIENT_SECRET:
                if args.client_secret_expiry is None:  # the config requires it in this mode
                    raise ValueError("client-secret mode needs clientSecretExpiry")
                expiry = args.client_secret_expiry.isoformat()
                password = azuread.ApplicationPassword(
                    f"{name}-secret",
                    application_id=application.id,
                    display_name=f"{args.display_name} pipeline secret (expires {expiry})",
                    end_date=f"{expiry}T00:00:00Z",
                    opts=child,
                )
                self.client_secret = pulumi.Output.secret(password.value)

        self.register_outputs({"clientId": self.client_id, "principalId": self.principal_id})

    def trust(
        self,
        name: str,
        *,
        credential_name: str,
        issuer: pulumi.Input[str],
        subject: pulumi.Input[str],
        description: str,
        parent: pulumi.Resource,
        former_names: tuple[str, ...] = (),
    ) -> pulumi.CustomResource:
        """Let tokens from `issuer` whose subject is exactly `subject` sign in as this identity.

        The credential is a child of `parent` (the CI environment it serves), so the plan shows
        it next to the environment whose name its subject carries. Its name is create-only and
        issuer + subject must be unique per identity, so a replacement (a renamed project or
        connection) must delete the old credential first: created first, the new one would
        carry the same issuer and subject and be refused. `former_names`: logical names the
        credential had before (aliases), so a rename is the same resource.
        """
        audiences = [TOKEN_EXCHANGE_AUDIENCE]
        if self._managed_identity is not None:
            credential = managedidentity.FederatedIdentityCredential(
                name,
                resource_name_=self._managed_identity.name,  # the identity's name (P7)
                resource_group_name=self._resource_group_name,
                federated_identity_credential_resource_name=credential_name,
                issuer=issuer,
                subject=subject,
                audiences=audiences,
                # P15: Azure rejects concurrent credential writes on one managed identity.
                opts=pulumi.ResourceOptions(
                    parent=parent,
                    depends_on=[self._last_credential] if self._last_credential else None,
                    delete_before_replace=True,  # see `trust`
                    aliases=[pulumi.Alias(name=former) for former in former_names],
                ),
            )
        else:
            import pulumi_azuread as azuread

            credential = azuread.ApplicationFederatedIdentityCredential(
                name,
                application_id=self.application_id,  # `/applications/<objectId>` (P17)
                display_name=credential_name,
                description=description,
                issuer=issuer,
                subject=subject,
                audiences=audiences,
                opts=pulumi.ResourceOptions(
                    parent=parent,
                    provider=self.get_provider("azuread::"),
                    delete_before_replace=True,
                    aliases=[pulumi.Alias(name=former) for former in former_names],
                ),
            )
        self._last_credential = credential
        return credential
