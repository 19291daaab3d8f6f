"""Front doors: ``dockyard`` (the user CLI) and ``dockyard-runtime`` (runc's command line).

CLI modules only parse arguments and print; the work is done below them (STYLE rule 7).
"""

__all__: list[str] = []
