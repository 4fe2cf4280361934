"""Model registry: models, versions, aliases with history, lineage, promotion gates."""
