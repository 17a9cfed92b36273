"""Paste factories: detach_ext as an app, or as a filter in front of one.

The configuration files come from ``config_file`` in the paste section or
its ``[DEFAULT]`` (several separated by commas), else from the
``DETACH_EXT_CONFIG_FILE`` environment variable, else oslo.config's usual
search for ``detach_ext.conf``.  Every factory of one paste file shares
one ConfigOpts and one :class:`detach_ext.runtime.Runtime`.
"""

import os
import sys
import threading

from paste import deploy as paste_deploy

from detach_ext.api import router
from detach_ext import conf as detach_conf
from detach_ext import runtime

_LOCK = threading.Lock()
_CONFS = {}


def config_files(global_conf, local_conf):
    value = (local_conf.get('config_file') or global_conf.get('config_file')
             or os.environ.get('DETACH_EXT_CONFIG_FILE'))
    if not value:
        return None
    return tuple(f.strip() for f in value.split(',') if f.strip())


def conf_for(global_conf, local_conf):
    """The ConfigOpts of these paste settings, parsed once."""
    files = config_files(global_conf, local_conf)
    with _LOCK:
        if files not in _CONFS:
            _CONFS[files] = detach_conf.load(config_files=files)
        return _CONFS[files]


def create_app(rt):
    """The detach_ext WSGI app of a Runtime.

    :raises detach_ext.policy.InvalidPolicyFile: the policy file cannot be
        parsed (checked now, not at the first request).
    """
    rt.enforcer
    return router.Router(rt)


def app_factory(global_conf, **local_conf):
    """``paste.app_factory``: serve the detach route by itself."""
    return create_app(runtime.get(conf_for(global_conf, local_conf)))


def filter_factory(global_conf, **local_conf):
    """``paste.filter_factory``: answer the detach route, pass the rest."""
    rt = runtime.get(conf_for(global_conf, local_conf))
    app = create_app(rt)

    def _filter(application):
        return router.DetachFilter(application, app,
                                   rt.conf.api.filter_serves_reads,
                                   rt.conf.api.compute_link_prefix)
    return _filter


def find_paste_config(conf):
    """The path of ``[api] api_paste_config``.

    Looked up beside the configuration files, then in the installed
    ``etc/detach_ext`` (``pip install``), then in a source checkout.
    """
    name = conf.api.api_paste_config
    if os.path.isabs(name):
        return name
    candidates = [
        conf.find_file(name),
        os.path.join(sys.prefix, 'etc', 'detach_ext', name),
        os.path.join(os.path.dirname(os.path.dirname(__file__)),
                     'etc', 'detach_ext', name),
    ]
    for path in candidates:
        if path and os.path.exists(path):
            return os.path.abspath(path)
    raise RuntimeError('Cannot find the paste configuration %r; set '
                       '[api] api_paste_config.' % name)


def loadapp(conf):
    """The WSGI app of ``[api] paste_pipeline``, sharing ``conf``.

    ``conf`` is registered as the ConfigOpts of its configuration files,
    so the factories of the paste file use this very object.
    """
    files = tuple(conf.config_file) or None
    with _LOCK:
        _CONFS[files] = conf
    global_conf = {'config_file': ','.join(files or ())}
    return paste_deploy.loadapp('config:' + find_paste_config(conf),
                                name=conf.api.paste_pipeline,
                                global_conf=global_conf)
