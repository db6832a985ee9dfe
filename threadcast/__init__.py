"""The composition root: the one package that picks concrete stores and platforms and wires
them to the core (`bot`), which sees protocols only. `threadcast.cli` is the command line."""
