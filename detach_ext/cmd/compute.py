"""``detach-ext-compute --host NAME``: the reference compute worker.

An oslo.messaging RPC server (threading executor) on topic ``compute``,
server NAME, and beside it the periodic repair of half-done detaches
(``[compute_worker] repair_interval``).  SIGTERM or SIGINT stops it after
the message in hand.
"""

import signal
import sys
import threading

from oslo_log import log as logging

from detach_ext import cmd
from detach_ext import conf as detach_conf
from detach_ext.conf import compute as compute_conf
from detach_ext import exception
from detach_ext import runtime

LOG = logging.getLogger(__name__)


def repair_loop(manager, stop, interval, age):
    """Repair this host's half-done detaches now and every ``interval``
    seconds until ``stop`` is set, beside the message consumer."""
    while not stop.is_set():
        try:
            repaired = manager.repair(older_than=age)
        except exception.VolumeServiceMisconfigured as exc:
            LOG.error('The repair of half-done detaches cannot run: %s  It '
                      'checks again in %s seconds.', exc, interval)
        except exception.VolumeServiceUnavailable as exc:
            LOG.error('The repair of half-done detaches cannot run: the '
                      'block storage service or Keystone is unreachable '
                      '(%s).  It runs again in %s seconds.', exc.reason,
                      interval)
        except Exception:
            LOG.exception('The repair of half-done detaches failed; it runs '
                          'again in %s seconds.', interval)
        else:
            if repaired:
                LOG.info('Repaired %d half-done detaches.', repaired)
        if not interval:
            return
        stop.wait(interval)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # [DEFAULT] host is also --host on the command line.
    conf = detach_conf.load(argv, cli_opts=compute_conf.DEFAULT_OPTS)
    logging.setup(conf, 'detach_ext')
    host = conf.host
    rt = runtime.Runtime(conf)
    manager = rt.compute_manager(host)
    server = rt.compute_server(manager)
    stop = threading.Event()
    repairs = threading.Thread(
        target=repair_loop, name='repair', daemon=True,
        args=(manager, stop, conf.compute_worker.repair_interval,
              conf.compute_worker.repair_age))

    def _stop(signum, frame):
        LOG.info('Signal %s received: finishing the message in hand.',
                 signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    cmd.loaded()
    LOG.info('Compute worker of host %s is listening.', host)
    repairs.start()
    stop.wait()
    server.stop()
    server.wait()
    repairs.join()
    rt.close()
    LOG.info('Compute worker of host %s stopped.', host)
    return 0
