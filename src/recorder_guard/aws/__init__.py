"""Adapters: every AWS call the flows make, behind small functions and classes."""
