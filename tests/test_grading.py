"""Grading round trips through the real nbgrader CLI, one autograde run per chapter.

Submissions: the instructor's solutions (full marks), the untouched student notebook (0), and the
chapter's catalogue of known mistakes and cheats (tests/catalogue), each starting from the solutions
with one exercise swapped for the wrong code.
"""

from __future__ import annotations

import html
import re

import nbformat
import pytest
from nbgrader.api import Gradebook

import catalogue
from course_helpers import CHAPTERS, fill_solutions, make_course, nbgrader, solution_code, source_notebook

pytestmark = pytest.mark.slow


def _feedback_text(path) -> str:
    text = re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))
    return html.unescape(text)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_round_trip(chapter, tmp_path):
    """Solutions score full marks, the blank notebook 0, every catalogued mistake loses points and is named."""
    submissions = catalogue.load(chapter)
    assert len([s for s in submissions.values() if not s.cheat]) >= 3, f"{chapter}: catalogue fewer than 3 mistakes"
    assert any(s.cheat for s in submissions.values()), f"{chapter}: catalogue no cheating submission"
    course = make_course(tmp_path)
    nbgrader("generate_assignment", chapter, "--force", cwd=course)
    name = source_notebook(chapter).name
    release = course / "release" / chapter / name
    solutions = solution_code(chapter)

    def submit(student: str, nb) -> None:
        target = course / "submitted" / student / chapter
        target.mkdir(parents=True)
        nbformat.write(nb, target / name)

    submit("instructor", fill_solutions(nbformat.read(release, as_version=4), solutions))
    submit("untouched", nbformat.read(release, as_version=4))
    for student, sub in submissions.items():
        submit(student, fill_solutions(nbformat.read(release, as_version=4), {**solutions, **sub.replace}))

    nbgrader("autograde", chapter, "--force", "--create", cwd=course)
    nbgrader("generate_feedback", chapter, "--force", cwd=course)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        def scores(student):
            nb = gb.find_submission_notebook(name.removesuffix(".ipynb"), chapter, student)
            return {g.name: (g.score, g.max_score) for g in nb.grades}

        full = scores("instructor")
        assert full and all(score == top for score, top in full.values()), f"solutions lost points: {full}"
        assert sum(s for s, _ in scores("untouched").values()) == 0
        problems = []
        for student, sub in submissions.items():
            got = scores(student)
            feedback = _feedback_text(course / "feedback" / student / chapter / name.replace(".ipynb", ".html"))
            for cell, (score, top) in got.items():
                if cell in sub.loses and (score == top or (sub.cheat and score != 0)):
                    problems.append(f"{student}: {cell} scored {score}/{top}, expected {'0' if sub.cheat else 'a loss'}")
                if cell not in sub.loses and score != top:
                    problems.append(f"{student}: {cell} lost points ({score}/{top}) but the catalogue does not expect it")
            problems += [f"{student}: feedback does not say {p!r}" for p in sub.feedback if p not in feedback]
        assert not problems, "\n".join(problems)
    caught = len(submissions)
    print(f"{chapter}: {caught} catalogued submissions graded, all caught")
