"""The basics every stage uses: errors, atomic files, YAML, labels, limits, Ctrl-C and
the terminal (none of them imports Keras)."""
