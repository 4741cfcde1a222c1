"""Intake: returnee registration at the border checkpoints."""
