"""A faithful local stand-in for a Braze-style provider, on loopback only."""
