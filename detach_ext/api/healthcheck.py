"""``GET /healthcheck``: oslo.middleware's Healthcheck, before authentication.

Two answers, both oslo.middleware's own :class:`Healthcheck` app:

* the short one, for load balancers: its ``[healthcheck] backends``
  (the shipped api-paste.ini names ``disable_by_file``: the process answers
  503 while the file of ``disable_by_file_path`` exists, so an operator
  drains it by creating that file);
* the detailed one (``[healthcheck] detailed = true``), for the sources in
  ``[healthcheck] allowed_source_ranges`` only (everyone, if that list is
  empty): the same backends plus whether the database and the message bus
  answer (:class:`DatabaseCheck`, :class:`MessageBusCheck`), and
  oslo.middleware's process details (threads, garbage collector).

Options come from detach_ext's configuration files (oslo.middleware's
``[healthcheck]`` group); a value set in the paste section wins, as with
oslo.middleware's own factory.  Each Healthcheck is given a ConfigOpts of
its own, so nothing is written into the process's global ``cfg.CONF``
(inside another service's API that is that service's configuration).
"""

import ipaddress
import urllib.parse

import kombu
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging
from oslo_middleware import healthcheck
from oslo_middleware.healthcheck import opts as healthcheck_opts
from oslo_middleware.healthcheck import pluginbase
import sqlalchemy as sa

LOG = logging.getLogger(__name__)

PATH = '/healthcheck'
GROUP = 'healthcheck'

# The backends that report on detach_ext's own collaborators (entry points
# of the ``oslo.middleware.healthcheck`` namespace, named in setup.cfg).
SERVICE_BACKENDS = ('detach_ext_database', 'detach_ext_message_bus')

# Seconds a detailed answer waits for the message bus.
BUS_TIMEOUT = 2.0

# oslo.middleware's ignore_proxied_requests: X-Forwarded-* headers.
_PROXY_HEADERS = ('FORWARDED', 'FORWARDED_PROTO', 'FORWARDED_HOST',
                  'FORWARDED_FOR', 'FORWARDED_PREFIX')

_OPTS = healthcheck_opts.HEALTHCHECK_OPTS + \
    healthcheck_opts.DISABLE_BY_FILE_OPTS


# detach_ext's defaults for two of oslo.middleware's options (set on
# detach_ext's own ConfigOpts only): draining by file works as shipped.
DEFAULTS = {'backends': ['disable_by_file'],
            'disable_by_file_path': '/etc/detach_ext/healthcheck_disable'}


def register_opts(conf):
    """oslo.middleware's ``[healthcheck]`` options, on ``conf``, with
    :data:`DEFAULTS`."""
    conf.register_opts(_OPTS, group=GROUP)
    for name, value in DEFAULTS.items():
        conf.set_default(name, value, group=GROUP)


class _Conf(cfg.ConfigOpts):
    """The options one Healthcheck reads, and the Runtime whose database
    and message bus its backends ask."""

    def __init__(self, runtime, values):
        super().__init__()
        self.runtime = runtime
        self.register_opts(_OPTS, group=GROUP)
        for name, value in values.items():
            self.set_override(name, value, group=GROUP)


def _values(conf, local_conf):
    """``[healthcheck]`` of detach_ext's files, the paste section's
    values over it (parsed by oslo.config's types)."""
    values = {}
    for opt in _OPTS:
        if opt.dest in local_conf:
            values[opt.dest] = opt.type(local_conf[opt.dest])
        else:
            values[opt.dest] = conf[GROUP][opt.dest]
    return values


class HealthcheckFilter:
    """Answer ``GET``/``HEAD /healthcheck``; pass everything else on.

    :param application: the next WSGI app.
    :param runtime: the :class:`detach_ext.runtime.Runtime` whose database
        and message bus the detailed answer reports on.
    :param values: the ``[healthcheck]`` option values.
    """

    def __init__(self, application, runtime, values):
        self.application = application
        self.ignore_proxied = values['ignore_proxied_requests']
        # Sources are chosen here; oslo.middleware would hand a request it
        # ignores to the app behind it, which these apps do not have.
        values = dict(values, ignore_proxied_requests=False)
        short = dict(values, detailed=False, allowed_source_ranges=[])
        self.short = healthcheck.Healthcheck(None, _Conf(runtime, short))
        self.detailed = None
        self.detail_sources = []
        if values['detailed']:
            backends = list(values['backends']) + [
                b for b in SERVICE_BACKENDS if b not in values['backends']]
            detailed = dict(values, backends=backends,
                            allowed_source_ranges=[])
            self.detailed = healthcheck.Healthcheck(
                None, _Conf(runtime, detailed))
            self.detail_sources = [ipaddress.ip_network(r) for r in
                                   values['allowed_source_ranges']]

    def _shows_details(self, environ):
        if self.detailed is None:
            return False
        if not self.detail_sources:
            return True
        try:
            address = ipaddress.ip_address(environ.get('REMOTE_ADDR', ''))
        except ValueError:
            return False
        return any(address.version == net.version and address in net
                   for net in self.detail_sources)

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO') != PATH or environ.get(
                'REQUEST_METHOD') not in ('GET', 'HEAD'):
            return self.application(environ, start_response)
        if self.ignore_proxied and any(
                environ.get('HTTP_X_' + header) for header in _PROXY_HEADERS):
            return self.application(environ, start_response)
        app = self.detailed if self._shows_details(environ) else self.short
        return app(environ, start_response)


def filter_factory(conf, runtime, local_conf):
    """The paste filter of :class:`HealthcheckFilter`.

    :param conf: detach_ext's ConfigOpts (``[healthcheck]`` registered).
    """
    values = _values(conf, local_conf)

    def _filter(app):
        return HealthcheckFilter(app, runtime, values)
    return _filter


def _runtime(oslo_conf):
    return getattr(oslo_conf, 'runtime', None)


class DatabaseCheck(pluginbase.HealthcheckBaseExtension):
    """Whether the compute database (and, with cells v2, Nova's API
    database) answers a ``SELECT 1``."""

    def healthcheck(self, server_port):
        runtime = _runtime(self.oslo_conf)
        if runtime is None:
            return pluginbase.HealthcheckResult(
                False, 'detach_ext_database reports only inside '
                       "detach_ext's healthcheck filter")
        engines = [('database', runtime.db.engine)]
        if runtime.conf.api_database.connection:
            engines.append(('api_database',
                            runtime.cells.api_db.ctxmgr.writer.get_engine()))
        for name, engine in engines:
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text('SELECT 1'))
            except Exception as exc:
                LOG.warning('Health check: [%(name)s] unreachable: %(error)s',
                            {'name': name, 'error': exc})
                return pluginbase.HealthcheckResult(
                    False, '[%s] unreachable' % name,
                    details=' '.join(str(exc).split()))
        return pluginbase.HealthcheckResult(
            True, 'OK', details='reachable: %s'
            % ', '.join('[%s]' % name for name, _engine in engines))


def _amqp_urls(url):
    """One ``amqp://`` URL per host of a ``rabbit://`` transport URL."""
    vhost = urllib.parse.quote(url.virtual_host or '', safe='')
    for host in url.hosts:
        netloc = '%s:%s@%s:%s' % (
            urllib.parse.quote(host.username or 'guest', safe=''),
            urllib.parse.quote(host.password or 'guest', safe=''),
            host.hostname, host.port or 5672)
        yield host, 'amqp://%s/%s' % (netloc, vhost)


class MessageBusCheck(pluginbase.HealthcheckBaseExtension):
    """Whether the broker of ``transport_url`` accepts a connection and
    its login (RabbitMQ: one host of the URL is enough)."""

    def healthcheck(self, server_port):
        runtime = _runtime(self.oslo_conf)
        if runtime is None:
            return pluginbase.HealthcheckResult(
                False, 'detach_ext_message_bus reports only inside '
                       "detach_ext's healthcheck filter")
        try:
            # Registers [DEFAULT] transport_url, if nothing has yet.
            url = oslo_messaging.TransportURL.parse(runtime.conf)
        except Exception as exc:
            return pluginbase.HealthcheckResult(
                False, 'transport_url cannot be read', details=str(exc))
        if url.transport != 'rabbit':
            return pluginbase.HealthcheckResult(
                True, 'OK', details='%s:// is not checked (in-process or '
                                    'not a broker)' % url.transport)
        errors = []
        for host, amqp in _amqp_urls(url):
            connection = kombu.Connection(amqp, connect_timeout=BUS_TIMEOUT,
                                          transport_options={
                                              'max_retries': 0})
            try:
                connection.connect()
                return pluginbase.HealthcheckResult(
                    True, 'OK', details='reachable: %s:%s'
                    % (host.hostname, host.port or 5672))
            except Exception as exc:
                errors.append('%s:%s: %s' % (host.hostname,
                                             host.port or 5672, exc))
            finally:
                connection.release()
        LOG.warning('Health check: message bus unreachable: %s',
                    '; '.join(errors))
        return pluginbase.HealthcheckResult(
            False, 'message bus unreachable', details='; '.join(errors))
