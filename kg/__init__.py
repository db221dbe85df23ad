"""The Integrating Cities Knowledge Graph: a build wing and a serving side that meet at the snapshot."""
