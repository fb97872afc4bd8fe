"""IMDB data: readers for the local aclImdb copy and TFDS, vectorization, caching."""
