"""What the web tier and the stream workers share, and nothing else: the data model, media facts and limits,
events, storage, subtitles and storyboards, the outbox, health checks, the settings table. It imports neither
Pyramid nor Faust nor either tier's own modules (import-linter contracts in pyproject.toml), so a worker
loads no web framework."""
