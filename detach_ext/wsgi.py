"""The API as a module-level WSGI ``application`` for a WSGI server.

    gunicorn -w 2 -b 0.0.0.0:8774 detach_ext.wsgi:application
    uwsgi --http :8774 --module detach_ext.wsgi:application \\
          --pyargv "--config-file /etc/detach_ext/detach_ext.conf"

Configuration files come from ``--config-file`` in the process's arguments
(uwsgi's ``--pyargv``), else ``$DETACH_EXT_CONFIG_FILE`` (commas between
several), else ``/etc/detach_ext/detach_ext.conf``.  The pipeline is
``[api] paste_pipeline`` of ``[api] api_paste_config``.  Each worker process
imports this module after the fork and so opens its own database pool and
message bus connection.
"""

import os
import sys

from oslo_log import log as logging

# A process entry point, like the commands: same warning filters.
from detach_ext import cmd  # noqa: F401
from detach_ext import conf as detach_conf
from detach_ext import deploy


def _config_files(argv, environ):
    files = []
    for i, arg in enumerate(argv):
        if arg == '--config-file' and i + 1 < len(argv):
            files.append(argv[i + 1])
        elif arg.startswith('--config-file='):
            files.append(arg.split('=', 1)[1])
    if not files and environ.get('DETACH_EXT_CONFIG_FILE'):
        files = [f.strip() for f in
                 environ['DETACH_EXT_CONFIG_FILE'].split(',') if f.strip()]
    return files or None


def init_application(argv=None, environ=None):
    """Parse the configuration, set up logging, load the paste app."""
    files = _config_files(sys.argv[1:] if argv is None else argv,
                          os.environ if environ is None else environ)
    conf = detach_conf.load(config_files=files)
    logging.setup(conf, 'detach_ext')
    return deploy.loadapp(conf)


application = init_application()
