"""The core of the toybox init suite: dispatch, option parsing and shared helpers.

Nothing is imported here: every applet run pays for what its imports load.
"""
__version__ = "0.1.0"
