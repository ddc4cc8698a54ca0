"""The doctor's Azure checks: resource providers and prerequisites (arm), names, rights, quota,
SKU availability, Microsoft Graph permissions and the state backend, each over the read-only client."""
