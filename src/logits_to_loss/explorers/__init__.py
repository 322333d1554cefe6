"""Interactive explorers (ipywidgets + matplotlib), one module per chapter.

A notebook imports its chapter's explorer (``from logits_to_loss.explorers.softmax import
SoftmaxExplorer``) and shows it by making it the last expression of a cell. Every explorer
can be driven headless with ``.update(name=value)``, which returns the numbers it shows.
"""
