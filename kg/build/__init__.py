"""The build wing: Turtle files -> graphs -> validation -> reasoning -> a snapshot. Never imports the serving side."""
