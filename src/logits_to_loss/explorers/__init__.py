"""Interactive explorers (ipywidgets, figures drawn as SVG by :mod:`.svg`), one module per topic.

A chapter declares its explorer; a notebook imports it (``from logits_to_loss.explorers.softmax
import SoftmaxExplorer``) and shows it by making it the last expression of a cell. Every explorer
can be driven headless with ``.update(name=value)``, which returns the numbers it shows.
"""
