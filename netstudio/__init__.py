"""NetStudio's engine: a Qt-free graph model of a network that compiles to torch.nn modules."""

__version__ = "0.1.0"
