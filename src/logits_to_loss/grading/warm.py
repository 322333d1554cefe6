"""Imported once by the forkserver of :mod:`.autograde`: nbgrader's first-use costs, paid before the forks.

A process's first gradebook session configures nbgrader's ORM mappers and compiles its queries,
and its first notebook builds nbformat's schema validator: a third of a second that every
forked nbgrader process would pay again. Doing it here, on a throwaway gradebook in a temporary
folder, leaves every fork with those caches warm. Importing this module has that effect and no other.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Base, Gradebook
from sqlalchemy import create_engine


def warm() -> None:
    """Run one assignment, student and graded submission through a throwaway gradebook; validate one notebook."""
    nbformat.validate(new_notebook(cells=[new_code_cell("1")]))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'gradebook.db'}"
        engine = create_engine(url)
        Base.metadata.create_all(engine)  # tables first: an empty file would make nbgrader run alembic
        engine.dispose()
        with Gradebook(url) as gb:
            gb.update_or_create_assignment("warm")
            gb.add_notebook("warm", "warm")
            gb.add_grade_cell("cell", "warm", "warm", max_score=1, cell_type="code")
            gb.add_solution_cell("answer", "warm", "warm")
            gb.add_source_cell("cell", "warm", "warm", cell_type="code", source="1", checksum="x")
            gb.update_or_create_student("student")
            submission = gb.update_or_create_submission("warm", "student")
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 1.0
            gb.db.commit()
            if gb.find_submission("warm", "student").score != 1.0:
                raise RuntimeError("nbgrader's gradebook did not keep a score: is its database working?")


warm()
