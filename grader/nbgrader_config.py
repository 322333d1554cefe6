"""nbgrader course root of Logits to Loss.

Chapters are written only in ../solutions (nbgrader "source"); ``nbgrader generate_assignment``
writes the student notebooks to ../notebooks (nbgrader "release"); ``python3 course.py regenerate``
does it for every chapter. Submissions, the gradebook and feedback live under this folder and are
never committed. The settings themselves are shared with the tests: logits_to_loss.authoring.configure.
"""

from pathlib import Path

from logits_to_loss.authoring import configure

here = Path(__file__).resolve().parent
configure(get_config(), here.parent / "solutions", here.parent / "notebooks", "sqlite:///gradebook.db")  # noqa: F821
