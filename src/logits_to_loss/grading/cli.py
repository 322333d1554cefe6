"""The ``logits-to-loss`` instructor command: release, collect, autograde, feedback, export, status, publish.

Run it in the nbgrader course folder (``grader/``) or name it with ``--course``. Release and
feedback go through nbgrader's Python API; feedback leaves out the hidden tests. Autograde grades in
parallel and in a sandbox (:mod:`.autograde`), or on the workers of a Dask cluster (:mod:`.cluster`);
its exit status is 1 when any submission ended in an error, after every submission was graded.
Publish writes the student-facing course for a class's repository (:mod:`.publish`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from ..authoring import quiz_mode
from ..chapter import load
from . import autograde as grading
from . import publish, report
from .collect import collect
from .sandbox import GiB, Limits, MiB


def _chapter(text: str):
    try:
        return load(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _absolute(text: str) -> Path | str:
    """A path as given on the command line, made absolute before the command moves into the course."""
    return text if text == "-" else Path(text).resolve()


def _api(course: Path, **sections: dict):
    """nbgrader's Python API on ``course``, with extra configuration ``sections`` (class name -> traits)."""
    from nbgrader.apps import NbGraderAPI

    config = report.course_config(course)
    for name, traits in sections.items():
        for trait, value in traits.items():
            setattr(config[name], trait, value)
    return NbGraderAPI(config=config)


def _check(result: dict, what: str) -> int:
    if not result["success"]:
        print(f"{what} failed:\n{result.get('log', '')}\n{result.get('error', '')}", file=sys.stderr)
        return 1
    return 0


def release(args) -> int:
    """Generate the student notebooks of a chapter into the course's release folder."""
    return _check(_api(args.course).generate_assignment(args.chapter.id, force=True), "release")


def feedback(args) -> int:
    """Feedback HTML for every graded student, with the hidden tests' source removed (nbgrader issue #917)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests

    steps = [*GenerateFeedback.class_traits()["preprocessors"].default(), ClearHiddenTests]
    api = _api(args.course, GenerateFeedback={"preprocessors": steps})
    return _check(api.generate_feedback(args.chapter.id, force=True), "feedback")


def collect_cmd(args) -> int:
    students = collect(args.source, args.course, args.chapter.id)
    print(f"collected {len(students)} submission(s) of {args.chapter.id}")
    return 0


def autograde(args) -> int:
    limits = Limits(cell_timeout=args.cell_timeout, wall=args.timeout, memory=int(args.memory * GiB),
                    cpu=args.cpu, processes=args.processes, file_size=int(args.file_size * MiB),
                    grader_memory=int(max(4, 2 * args.memory) * GiB))
    run = grading.new_run(args.course, args.chapter, limits, 0 if args.scheduler else args.workers)
    try:
        if args.scheduler:
            from .cluster import autograde_on  # imports Dask only when asked for it

            results = autograde_on(run, args.scheduler, force=args.force)
        else:
            results = grading.autograde(run, args.workers, force=args.force)
    finally:
        shutil.rmtree(run.work, ignore_errors=True)
    errors = [r for r in results if r.status == "error"]
    print(f"graded {len(results) - len(errors)}, {len(errors)} error(s)")
    for r in errors:
        print(f"  {r.student}: {r.reason}")
    return 1 if errors else 0


def publish_cmd(args) -> int:
    repo = args.repo or publish.source_repository()
    publish.publish(repo, args.dest, args.github)
    assessed = quiz_mode(repo) == "assessment"
    keys = "no quiz keys: the quiz is an assessment" if assessed else "the formative quiz keeps its keys"
    print(f"published the student-facing course to {args.dest} (no solutions/, grader/, tests/ or grading code; {keys})")
    return 0


def _tables(args) -> list[list[dict]]:
    db = report.course_config(args.course).CourseDirectory.db_url
    return [report.rows(args.course, chapter.id, db) for chapter in args.chapters]


def export(args) -> int:
    table = [row for rows in _tables(args) for row in rows]
    if args.out == "-":
        report.write_csv(table, sys.stdout)
    else:
        with open(args.out, "w", newline="") as out:
            report.write_csv(table, out)
        print(f"wrote {len(table)} row(s) to {args.out}")
    return 0


def status(args) -> int:
    for table in _tables(args):
        print(report.summary(table))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logits-to-loss", description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=Path("."), help="nbgrader course folder (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, fn, help_text):
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(fn=fn)
        return p

    for name, fn, help_text in [("release", release, "generate the student notebooks"),
                                ("feedback", feedback, "feedback HTML without hidden tests")]:
        command(name, fn, help_text).add_argument("chapter", type=_chapter)
    p = command("collect", collect_cmd, "copy a folder or zip of <student>/ folders into submitted/")
    p.add_argument("chapter", type=_chapter)
    p.add_argument("source", type=_absolute)
    p = command("autograde", autograde, "grade every pending submission in parallel, sandboxed")
    p.add_argument("chapter", type=_chapter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="grading processes on this machine")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="grade on the workers of this Dask scheduler instead (needs a PostgreSQL gradebook)")
    p.add_argument("--force", action="store_true", help="grade again what the ledger says is done")
    p.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell")
    p.add_argument("--timeout", type=int, default=900, help="seconds per submission")
    p.add_argument("--memory", type=float, default=2.0, help="GiB of address space per kernel")
    p.add_argument("--cpu", type=int, default=600, help="CPU seconds per kernel")
    p.add_argument("--processes", type=int, default=64, help="processes and threads per grading user")
    p.add_argument("--file-size", type=float, default=64.0, help="MiB per file written")
    p = command("publish", publish_cmd, "the student-facing course (for a class's repository and Binder)")
    p.add_argument("dest", type=_absolute, help="a new folder")
    p.add_argument("--repo", type=_absolute, help="the course repository (default: the one this package is from)")
    p.add_argument("--github", help="OWNER/REPO of the class's repository, for pyproject and the Binder badges")
    for name, fn, help_text in [("export", export, "grades CSV: score, status and reason per student"),
                                ("status", status, "counts and errors per chapter")]:
        p = command(name, fn, help_text)
        p.add_argument("chapters", type=_chapter, nargs="+")
    sub.choices["export"].add_argument("--out", default="grades.csv", type=_absolute, help="file, - for stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    args.course = args.course.resolve()
    os.chdir(args.course)  # the course's nbgrader_config.py may name paths relative to it
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs alembic from the environment's bin
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        return args.fn(args)
    except ValueError as exc:  # a setting to fix (named in the message), not a crash
        print(f"logits-to-loss {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
