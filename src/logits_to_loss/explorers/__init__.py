"""Interactive explorers (ipywidgets + matplotlib), one module per chapter.

Display one with a single call in a notebook (``SoftmaxExplorer()`` as the last line of a
cell); call ``.update(name=value)`` to drive it headless, as the tests do.
"""

from .softmax import SoftmaxExplorer

__all__ = ["SoftmaxExplorer"]
