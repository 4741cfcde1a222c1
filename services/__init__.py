"""The four services of the border-return system."""
