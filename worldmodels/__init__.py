"""worldmodels: a placeholder. No world model is built yet; learned dynamics models are planned here
(docs/architecture.md, "Not built yet")."""
