"""The WSGI entry point a server imports (mwms_site/wsgi.py): it serves, and it leaves what starting
made out of the garbage collector's full collections (issue 16: their stalls were the pages' p95)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc
import mwms_site.wsgi as wsgi
frozen = gc.get_freeze_count()
print(frozen, callable(wsgi.application), "requests_app.views" in __import__("sys").modules)
"""


def test_the_wsgi_module_freezes_the_start_up_heap_with_the_views_imported():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mwms_site.settings", "DEBUG": "true"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    frozen, serves, views_loaded = int(out[0]), out[1], out[2]
    assert serves == "True" and views_loaded == "True"
    assert frozen > 50_000  # Django, the apps and their views: well over a hundred thousand objects
