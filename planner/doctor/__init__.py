"""`python -m planner doctor`: a read-only live preflight (issue 29). One concern per module:
http (the read-only client and replay), azure (ARM checks), report, command."""
