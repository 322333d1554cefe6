"""Per-chapter checks: one module per chapter, each holding its exercises and its mastery quiz.

A notebook imports its chapter's module (``from logits_to_loss.checks import softmax as check``)
and calls ``check.softmax(my_softmax)`` in its test cells; the same call is the self-check.
"""
