"""Typer command line: thin commands over the services."""
