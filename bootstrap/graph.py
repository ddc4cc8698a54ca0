"""Microsoft Graph: the well-known application and the app roles (application permissions)
bootstrap grants. Ids are the same in every tenant (Microsoft Learn, "Microsoft Graph
permissions reference")."""

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
"""appId of the Microsoft Graph service principal, in every tenant."""

APPLICATION_READWRITE_OWNEDBY = "18a4783c-866b-4cc7-a460-3d5e5662c884"
"""Application.ReadWrite.OwnedBy: create apps and manage the ones it owns (the stage identities)."""

APPLICATION_READ_ALL = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
"""Application.Read.All: read apps and service principals (what `--refresh` of a stage reads)."""

DIRECTORY_READ_ALL = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
"""Directory.Read.All: with OwnedBy, what adding an owner other than the caller needs (Microsoft
Graph "Add owner", application-post-owners: least privilege "Application.ReadWrite.OwnedBy and
Directory.Read.All"; "Application.ReadWrite.OwnedBy isn't sufficient to add another owner")."""
