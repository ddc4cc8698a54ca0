"""`mlinfra doctor`: a read-only live preflight (issue 29, docs/doctor.md). Here: the command, the
read-only HTTP client and its replay (http), what to check per stack (targets, estate_checks) and the
report; the checks themselves in `azure/` and `ci/`."""
