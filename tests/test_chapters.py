"""The generic chapter suite, in process: every registered chapter, exercise, mistake and quiz.

Fair: correct answers written three ways pass on 10,000 draws. Sound: every catalogued mistake
fails exactly its parts on 1,000 draws and is named. Cheats fail. Quizzes are well formed and
do not reward a constant letter. Explorers respond to every control.
"""

from __future__ import annotations

import re
from collections import Counter

import nbformat
import numpy as np
import pytest
from course_helpers import CHAPTERS, EXERCISES, ROOT, ids, in_float64, nbgrader_meta, solution, source

from logits_to_loss.checker import CheckFailure

FAIR_DRAWS = 10_000
SOUND_DRAWS = 1_000
NAMED_DRAWS = 20

chapter_cases = pytest.mark.parametrize("chapter", CHAPTERS.values(), ids=ids)
exercise_cases = pytest.mark.parametrize("chapter, exercise", EXERCISES, ids=ids)


@chapter_cases
def test_id_matches_folder_and_notebook(chapter):
    """The chapter id names its folder in solutions/ and notebooks/, and the notebook is named after the topic."""
    assert source(chapter).exists(), f"missing {source(chapter)}"
    assert (ROOT / "notebooks" / chapter.id / chapter.notebook).exists(), "run `python3 course.py regenerate`"
    assert chapter.objectives and chapter.minutes > 0


@chapter_cases
def test_every_section_reference_resolves(chapter):
    """Every "§N.M" in a mistake's explanation or the quiz names a heading of the chapter's own notebook."""
    nb = nbformat.read(source(chapter), as_version=4)
    headings = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^#+ (\d+\.\d+)\b", c.source, re.M)}
    texts = [m.explanation for e in chapter.exercises for m in e.catalogue]
    texts += [why for q in chapter.quiz.questions.values() for _, why in q.options.values()]
    cited = {ref for text in texts for ref in re.findall(r"§(\d+\.\d+)", text)}
    assert cited, "no mistake points to a section"
    assert cited <= headings, f"§{sorted(cited - headings)} are not headings of {chapter.id} ({sorted(headings)})"
    assert all(ref.split(".")[0] == str(chapter.number) for ref in cited)


@chapter_cases
def test_quiz_spreads_its_answers_over_the_letters(chapter):
    """No letter is right in more than 40% of the questions, so a constant letter scores at most 40%."""
    key = chapter.quiz.key
    most = Counter(key.values()).most_common(1)[0][1]
    assert most <= 0.4 * len(key), f"{chapter.id}: a constant letter would score {most}/{len(key)}"
    assert {q.question.level for q in chapter.quiz.questions.values()} == {"foundational", "intermediate", "advanced"}


@chapter_cases
def test_quiz_grades_and_explains(chapter, capsys):
    """The key passes every question, any other letter fails with that option's explanation."""
    quiz = chapter.quiz
    for qid, placed in quiz.questions.items():
        quiz.check(quiz.key, qid)
        for letter, (_, why) in placed.options.items():
            if letter != placed.correct:
                with pytest.raises(CheckFailure, match=re.escape(why[:30])):
                    quiz.check({qid: letter}, qid)
    assert capsys.readouterr().out.count("✓") == len(quiz.questions)


@chapter_cases
def test_quiz_widget_formative_and_assessment(chapter):
    """Formative widgets judge a pick at once; assessment widgets only record it."""
    qid, placed = next(iter(chapter.quiz.questions.items()))
    for mode, shown in (("formative", "Right"), ("assessment", "Recorded")):
        box = chapter.quiz.widget(mode=mode)
        box.children[0].children[1].value = placed.correct
        assert shown in box.children[0].children[2].value
        assert f'"{qid}": \'{placed.correct}\'' in box.children[-1].value


@chapter_cases
def test_explorer_responds_to_every_control(chapter):
    """Moving any control of the explorer changes the numbers it shows."""
    if chapter.explorer is None:
        pytest.skip(f"{chapter.id} has no explorer")
    explorer = chapter.explorer()
    controls = explorer.make_controls()
    for name, control in controls.items():
        before = {k: np.array(v, dtype=object) for k, v in explorer.state.items()}
        options = getattr(control, "options", None)
        if options:
            values = [o[1] if isinstance(o, tuple) else o for o in options]
            new = next(v for v in values if v != explorer.values[name])
        elif isinstance(explorer.values[name], bool):
            new = not explorer.values[name]
        else:
            scale = (lambda v: control.base**v) if hasattr(control, "base") else (lambda v: v)  # log sliders
            new = scale(control.max) if explorer.values[name] != scale(control.max) else scale(control.min)
        after = explorer.update(**{name: new})
        changed = [k for k in after if not np.array_equal(np.array(after[k], dtype=object), before.get(k))]
        assert changed, f"{chapter.id}: moving {name} to {new} changed nothing"


def _key(part, case) -> tuple:
    """Identifies a case: a fixed case (or one drawn from a cached pool) recurs on many draws."""
    return (part, case.label, *(a.tobytes() if isinstance(a, np.ndarray) else repr(a) for a in case.args),
            repr(sorted(case.kwargs.items())))


def _passes(exercise, fn, case, answer=None) -> bool:
    try:
        exercise.check_case(fn, case, diagnose=False, answer=answer)
    except CheckFailure:
        return False
    return True


def _narrow(case) -> bool:
    """Whether a case has float arrays narrower than float64.

    Elsewhere the float64 variant is the solution itself, and the library's formula is the very
    computation that gives the expected answer: both would pass by construction.
    """
    return any(isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype != np.float64 for a in case.args)


@exercise_cases
def test_correct_answers_pass_on_every_draw(chapter, exercise):
    """The solution, the solution in float64 and the library's own formula pass 10,000 draws of every part."""
    variants = [solution(chapter, exercise), in_float64(solution(chapter, exercise)), exercise.reference]
    failures, seen = [], set()
    for seed in range(FAIR_DRAWS):
        for part in exercise.parts:
            for case in exercise.cases(part, seed):
                if _key(part, case) in seen:  # a fixed case: judged on the first draw already
                    continue
                seen.add(_key(part, case))
                answer = exercise.expected(case), exercise.tolerance(case)
                failures += [f"variant {number}, seed {seed}, {case.label}" for number, fn in enumerate(variants)
                             if (number == 0 or _narrow(case)) and not _passes(exercise, fn, case, answer)]
    assert not failures, f"{len(failures)} failures, e.g. {failures[:3]}"


@exercise_cases
def test_every_mistake_fails_exactly_its_parts(chapter, exercise):
    """On 1,000 draws every catalogued mistake fails each part it lists and passes the others."""
    problems = []
    for mistake in exercise.mistakes:
        wrong, parts, verdicts = mistake.function(exercise), mistake.parts or tuple(exercise.parts), {}
        for part in exercise.parts:
            def verdict(case, part=part):
                key = _key(part, case)
                if key not in verdicts:  # a case that recurs is judged once
                    verdicts[key] = _passes(exercise, wrong, case)
                return verdicts[key]

            passed = sum(all(verdict(c) for c in exercise.cases(part, seed)) for seed in range(SOUND_DRAWS))
            if part in parts and passed:
                problems.append(f"{mistake.name!r} passed part {part!r} on {passed} draws")
            if part not in parts and passed < SOUND_DRAWS:
                problems.append(f"{mistake.name!r} failed part {part!r} on {SOUND_DRAWS - passed} draws")
    assert not problems, "\n".join(problems)


@exercise_cases
def test_every_mistake_is_named(chapter, exercise):
    """On every draw the check of each failing part shows a message naming the mistake."""
    problems = []
    for mistake in exercise.mistakes:
        wrong = mistake.function(exercise)
        for part in mistake.parts or exercise.parts:
            for seed in range(NAMED_DRAWS):
                shown = exercise.verdict(wrong, part, seed)
                if shown is None or mistake.name not in str(shown):
                    problems.append(f"{mistake.name!r}, part {part!r}, seed {seed}: {shown}")
                    break
    assert not problems, "\n".join(problems)


@exercise_cases
def test_every_cheat_fails_every_part(chapter, exercise, capsys):
    """Calling the library, torch or scipy, or hard-coding a visible answer, fails every part."""
    for cheat in exercise.cheats:
        wrong = cheat.function(exercise)
        for part in exercise.parts:
            with pytest.raises(CheckFailure):
                exercise.check(wrong, part)
    assert "✓" not in capsys.readouterr().out


@exercise_cases
def test_solution_cell_defines_the_graded_function(chapter, exercise):
    """The source notebook has a solution cell whose grade_id is the exercise's name."""
    nb = nbformat.read(source(chapter), as_version=4)
    cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == exercise.name]
    assert len(cells) == 1 and nbgrader_meta(cells[0]).get("solution")
    assert f"def {exercise.signature}:" in cells[0].source
