"""Helpers for a hands-on companion to Frankle & Carbin, *The Lottery Ticket Hypothesis* (ICLR 2019)."""
__version__ = "0.1.0"
