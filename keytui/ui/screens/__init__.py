"""Screens and modals, one main class per module."""
