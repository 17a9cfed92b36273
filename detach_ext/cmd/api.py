"""``detach-ext-api``: serve the API with the embedded WSGI server.

With ``--all-in-one`` (the quick start) everything runs in this one
process: a SQLite file, the in-process ``fake://`` message bus, the
reference compute worker and demo data, behind the ``noauth2`` pipeline.
Production runs the module-level ``application`` under a real WSGI server
instead, and ``detach-ext-compute`` per compute host.
"""

import os
import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from detach_ext import cmd
from detach_ext import conf as detach_conf
from detach_ext import context as detach_context
from detach_ext.db import migration
from detach_ext import demo
from detach_ext import deploy
from detach_ext import runtime
from detach_ext import server as embedded_server

LOG = logging.getLogger(__name__)

CLI_OPTS = [
    cfg.BoolOpt('all-in-one',
                default=False,
                help='Run the embedded default: SQLite, in-process '
                     'messaging, the reference compute worker, demo data '
                     'and noauth2, all in this process.'),
    cfg.PortOpt('port',
                help='Listen on this port instead of [api] bind_port '
                     '(0: any free port).'),
    cfg.StrOpt('state-dir',
               default='.detach_ext',
               help='With --all-in-one: where the generated '
                    'configuration file and the SQLite database live.'),
]

ALL_IN_ONE_CONF = """\
# Written by detach-ext-api --all-in-one.  Edit it freely: it is only
# written when missing.
[DEFAULT]
transport_url = fake://
debug = false

[api]
paste_pipeline = noauth2

[database]
connection = sqlite:///{db_path}

[detach_ext_database]
create_nova_schema = true
"""


def _port(conf):
    return conf.api.bind_port if conf.port is None else conf.port


def _write_all_in_one_conf(state_dir):
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, 'detach_ext.conf')
    if not os.path.exists(path):
        db_path = os.path.abspath(os.path.join(state_dir, 'detach_ext.sqlite'))
        with open(path, 'w') as f:
            f.write(ALL_IN_ONE_CONF.format(db_path=db_path))
    return os.path.abspath(path)


def _start_all_in_one(rt):
    conf = rt.conf
    migration.db_sync(rt.db.engine, create_nova=True)
    context = detach_context.get_admin_context()
    if demo.seed(rt.db, context, conf.host):
        LOG.info('Added the demo servers and volumes.')
    manager = rt.compute_manager(conf.host)
    manager.init_host()
    worker = rt.compute_server(manager)
    worker.start()
    return worker


def _print_instructions(base):
    path = '/v2/%s/servers/%%s/os-volume_attachments/%%s' % demo.PROJECT_ID
    token = 'demo:%s' % demo.PROJECT_ID
    print('detach_ext is serving on %s (noauth2, demo data).' % base)
    print('Detach the demo data volume (202):')
    print("  curl -i -X DELETE -H 'X-Auth-Token: %s' %s%s"
          % (token, base, path % (demo.SERVER_ID, demo.DATA_VOLUME_ID)))
    print('Then watch it go: the attachment answers 404 once the worker '
          'has finished, and the list no longer has it:')
    print("  curl -i -H 'X-Auth-Token: %s' %s%s"
          % (token, base, path % (demo.SERVER_ID, demo.DATA_VOLUME_ID)))
    print("  curl -s -H 'X-Auth-Token: %s' %s%s"
          % (token, base, path.rsplit('/', 1)[0] % demo.SERVER_ID))
    print('The root volume (403) and a server in vm_state error (409):')
    print("  curl -i -X DELETE -H 'X-Auth-Token: %s' %s%s"
          % (token, base, path % (demo.SERVER_ID, demo.ROOT_VOLUME_ID)))
    print("  curl -i -X DELETE -H 'X-Auth-Token: %s' %s%s"
          % (token, base, path % (demo.BROKEN_SERVER_ID,
                                  demo.BROKEN_VOLUME_ID)))
    sys.stdout.flush()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = detach_conf.load(argv, cli_opts=CLI_OPTS)
    if conf.all_in_one:
        path = _write_all_in_one_conf(conf.state_dir)
        conf = detach_conf.load(['--config-file', path] + argv,
                                cli_opts=CLI_OPTS)
    logging.setup(conf, 'detach_ext')
    # The app and the all-in-one worker share one Runtime (the in-process
    # bus); released once the server has stopped.
    rt = runtime.Runtime(conf)
    worker = _start_all_in_one(rt) if conf.all_in_one else None
    app = deploy.loadapp(rt)
    server = embedded_server.Server(app, conf.api.bind_host, _port(conf))
    # The port the server got (--port 0 picks a free one).
    base = 'http://%s:%s' % (conf.api.bind_host, server.port)
    if conf.all_in_one:
        _print_instructions(base)
    else:
        print('detach_ext is serving on %s' % base, flush=True)
    stopping = threading.Event()

    def _stop(signum, frame):
        stopping.set()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    cmd.loaded()
    try:
        stopping.wait()
        LOG.info('Stopping.')
    finally:
        server.stop()
        if worker is not None:
            worker.stop()
            worker.wait()
        deploy.release(rt)
    return 0
