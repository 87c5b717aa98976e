"""typetool: predicts type annotations for Python and TypeScript and writes them back safely."""

__version__ = "0.1.0"
