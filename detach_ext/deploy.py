"""Paste factories, and the one registry of the Runtimes they share.

Which configuration files (one rule for the paste factories, the WSGI
entry point and the commands):

1. the files named explicitly: ``config_file`` in the paste section or its
   ``[DEFAULT]`` (several separated by commas), or ``--config-file`` /
   ``--config-dir`` on a command's line;
2. else ``$DETACH_EXT_CONFIG_FILE`` (commas between several);
3. else oslo.config's own search for ``detach_ext.conf`` (and
   ``detach_ext.conf.d``) in ``~/.detach_ext``, ``~``, ``/etc/detach_ext``,
   ``/etc``.

The paste file is ``[api] api_paste_config``: an absolute path, else looked
up by oslo.config beside those files and in the same folders, else the copy
shipped with detach_ext.

Every factory of one process that reads the same files shares one
:class:`detach_ext.runtime.Runtime` (one ConfigOpts, engine pool,
transport, enforcer): Nova's paste file names the filter in several
pipelines, and the in-process ``fake://`` bus of the embedded mode must be
the worker's.  The registry keeps a Runtime until :func:`release`: paste
apps have no close hook, so under a WSGI server it lives as long as the
worker process (whose exit closes its connections); ``detach-ext-api``
and the tests release it when they stop.
"""

import os
import sys
import threading

from paste import deploy as paste_deploy

from detach_ext.api import router
from detach_ext import conf as detach_conf
from detach_ext import runtime

ENV_CONFIG_FILE = 'DETACH_EXT_CONFIG_FILE'

_LOCK = threading.Lock()
# config files (a tuple, or None for oslo.config's search) -> Runtime
_RUNTIMES = {}


def _split(value):
    files = tuple(f.strip() for f in (value or '').split(',') if f.strip())
    return files or None


def config_files(global_conf=None, local_conf=None, environ=None):
    """The configuration files of these paste settings (rule 1, then 2),
    or None for oslo.config's search."""
    environ = os.environ if environ is None else environ
    return _split((local_conf or {}).get('config_file') or
                  (global_conf or {}).get('config_file') or
                  environ.get(ENV_CONFIG_FILE))


def _key(conf):
    return tuple(conf.config_file) or None


def runtime_for(global_conf, local_conf):
    """The Runtime of these paste settings, built on first use."""
    files = config_files(global_conf, local_conf)
    with _LOCK:
        rt = _RUNTIMES.get(files)
        if rt is None:
            rt = runtime.Runtime(detach_conf.load(config_files=files))
            _RUNTIMES[files] = rt
        return rt


def conf_for(global_conf, local_conf):
    """The ConfigOpts of these paste settings (:func:`runtime_for`'s)."""
    return runtime_for(global_conf, local_conf).conf


def release(rt):
    """Forget ``rt`` and close its connections."""
    with _LOCK:
        for key in [k for k, v in _RUNTIMES.items() if v is rt]:
            del _RUNTIMES[key]
    rt.close()


def app_factory(global_conf, **local_conf):
    """``paste.app_factory``: serve the detach route by itself.

    :raises detach_ext.policy.InvalidPolicyFile: the policy file cannot be
        parsed (checked now, not at the first request).
    """
    rt = runtime_for(global_conf, local_conf)
    rt.enforcer
    return router.Router(rt)


def filter_factory(global_conf, **local_conf):
    """``paste.filter_factory``: answer the detach route, pass the rest."""
    app = app_factory(global_conf, **local_conf)
    api = app.runtime.conf.api

    def _filter(application):
        return router.DetachFilter(application, app, api.filter_serves_reads,
                                   api.compute_link_prefix)
    return _filter


def find_paste_config(conf):
    """The path of ``[api] api_paste_config`` (the module docstring's
    rule)."""
    name = conf.api.api_paste_config
    if os.path.isabs(name):
        return name
    path = conf.find_file(name)
    if path is None:
        # Installed (pip puts data_files under the prefix), or a checkout.
        for etc in (os.path.join(sys.prefix, 'etc', 'detach_ext'),
                    os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                 'etc', 'detach_ext')):
            if os.path.exists(os.path.join(etc, name)):
                path = os.path.join(etc, name)
                break
    if path is None:
        raise RuntimeError('Cannot find the paste configuration %r; set '
                           '[api] api_paste_config.' % name)
    return os.path.abspath(path)


def loadapp(rt):
    """The WSGI app of ``[api] paste_pipeline``, built on ``rt``.

    ``rt`` is registered under its configuration files, so the factories
    of the paste file use it; :func:`release` it when done.
    """
    files = _key(rt.conf)
    with _LOCK:
        _RUNTIMES[files] = rt
    global_conf = {'config_file': ','.join(files or ())}
    return paste_deploy.loadapp('config:' + find_paste_config(rt.conf),
                                name=rt.conf.api.paste_pipeline,
                                global_conf=global_conf)
