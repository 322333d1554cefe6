"""One declaration per chapter: each module defines ``CHAPTER`` (see :mod:`logits_to_loss.chapter`)."""
