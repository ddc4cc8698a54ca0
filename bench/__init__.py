"""`make bench`: planner cost against the Pulumi runtime floor, scaling, deployment depth."""
