"""The campaign document: its model, its validation, its cache and the registry of node types."""
