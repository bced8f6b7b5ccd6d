"""The Keras model a config describes, and dlexp's own layers a model.keras may hold."""
