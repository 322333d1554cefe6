"""Classroom grading on top of nbgrader: the ``logits-to-loss`` instructor command.

``cli`` parses the command; ``collect`` files submissions into nbgrader's ``submitted/`` tree;
``autograde`` grades them in parallel, each in a private nbgrader course whose kernel runs in the
``sandbox``, and merges every result into the real gradebook (``cluster`` does the same on Dask
workers of several machines, with a PostgreSQL gradebook); ``ledger`` remembers what was graded
(so a restarted run finishes the rest); ``report`` writes the CSV and the status summary.
"""
