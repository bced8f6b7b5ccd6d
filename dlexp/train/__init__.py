"""Training: one fit into one run folder, the learning record, and runs trained together (stack)."""
