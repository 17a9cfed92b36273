"""The API as a module-level WSGI ``application`` for a WSGI server.

    DETACH_EXT_CONFIG_FILE=/etc/detach_ext/detach_ext.conf \\
        gunicorn -w 2 -b 0.0.0.0:8774 detach_ext.wsgi:application
    uwsgi --http :8774 --module detach_ext.wsgi:application \\
          --env DETACH_EXT_CONFIG_FILE=/etc/detach_ext/detach_ext.conf

The command line belongs to the WSGI server, so (as Nova's and placement's
WSGI apps) the configuration files are ``$DETACH_EXT_CONFIG_FILE`` (commas
between several), else oslo.config's search for ``detach_ext.conf``
(:mod:`detach_ext.deploy` has the whole rule).  The pipeline is
``[api] paste_pipeline`` of ``[api] api_paste_config``.  Each worker process
imports this module after the fork and so opens its own database pool and
message bus connection, kept for the life of the process.
"""

from oslo_log import log as logging

# A process entry point, like the commands: same warning filters.
from detach_ext import cmd
from detach_ext import conf as detach_conf
from detach_ext import deploy
from detach_ext import runtime


def init_application(environ=None):
    """Parse the configuration, set up logging, load the paste app.

    :param environ: the process environment (``os.environ`` by default).
    """
    conf = detach_conf.load(
        config_files=deploy.config_files(environ=environ))
    logging.setup(conf, 'detach_ext')
    return deploy.loadapp(runtime.Runtime(conf))


application = init_application()
cmd.loaded()
