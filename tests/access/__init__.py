"""Access rules across every service: deny by default."""
