"""Event sources: where raw messages come from (Kafka, the built-in simulator, a file)."""
