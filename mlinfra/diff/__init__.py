"""`mlinfra diff`: the working tree's plans against another git revision's, per stack and for the
estate, with replacements of stateful resources listed first."""
