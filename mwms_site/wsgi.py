import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mwms_site.settings")
application = get_wsgi_application()

# What starting made (the modules, settings, the URL conf and every view it imports) lives as long
# as the process: move it out of the garbage collector's view. A full collection otherwise walked
# all of it, 90-140 ms stalls a few times a minute under load, which were the pages' p95 at a
# million requests (issue 16; `bench/page_bench.py` imports this module as a server would).
get_resolver().url_patterns  # noqa: B018 — import the views now, not on the first request
gc.collect()
gc.freeze()
