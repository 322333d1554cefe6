"""Session setup shared by every test module: the environment's bin folder first on PATH.

nbgrader runs ``alembic`` as a command when it creates a gradebook, so tests that call nbgrader's
API in process need the environment's bin on PATH even when pytest is started without
``course.py test`` (which sets it too).
"""

import os
import sys
from pathlib import Path

os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
