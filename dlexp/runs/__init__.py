"""Run folders: their schema, reading them back, the index of a runs folder, choosing the best."""
