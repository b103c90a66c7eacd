"""The recipes: one runnable script per task (`python recipes/<name>.py --help`).

Installed, they are also the package `seqkit.recipes`, which `seqkit train <name>` runs.
"""
