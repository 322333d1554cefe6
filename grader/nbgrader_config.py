"""nbgrader course root of Logits to Loss.

Chapters are written only in ../solutions (nbgrader "source"); ``nbgrader generate_assignment``
writes the student notebooks to ../notebooks (nbgrader "release"). Submissions, the gradebook and
feedback live under this folder and are never committed.

    cd grader && nbgrader generate_assignment 01-softmax --force   # one chapter
    python -m logits_to_loss.course regenerate                      # every chapter (see README)
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.source_directory = "../solutions"
c.CourseDirectory.release_directory = "../notebooks"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Student notebooks keep their cell ids stable and ship without outputs.
c.ClearOutput.enabled = True
# Each chapter's test cells call the checker; a slow student solution should not hang grading.
c.ExecutePreprocessor.timeout = 120
