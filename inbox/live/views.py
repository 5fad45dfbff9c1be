"""The live poll and presence heartbeats."""
