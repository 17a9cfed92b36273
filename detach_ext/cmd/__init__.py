"""Console scripts."""

import gc
import warnings

# oslo.messaging imports oslo.service and futurist, which import eventlet
# (when installed) and warn that it is deprecated; detach_ext uses threads
# only, so the warning says nothing to its users.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
warnings.filterwarnings('ignore', category=DeprecationWarning,
                        module='eventlet.*')


def loaded():
    """Call once a process has loaded what it keeps for its life (the
    modules, the configuration, the app or the RPC server).

    Those 120,000-odd objects never become garbage, yet every full
    collection of the garbage collector walks them all: 40 to 150 ms on
    the benchmark machine, a request that happens to trigger one waits
    that long (it was the c=1 p99 of ``tools/bench_detach.py``).  What is
    garbage now is collected once, and the rest frozen out of later
    collections (``gc.freeze``); a full collection then walks only what
    requests made (about 10 ms at worst).
    """
    gc.collect()
    gc.freeze()
