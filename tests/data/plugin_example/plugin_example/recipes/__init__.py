"""Recipes shipped by the plug-in: every ``*.yaml`` here is a recipe named by its file stem."""
