"""Rules across config sections: production rules and their relaxations, workspace sharing,
private-stage checks, generated names and cross-section consistency."""
