"""tmr: Trustworthy Model Registry."""

__version__ = "0.1.0"
