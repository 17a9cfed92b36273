"""The route table, dispatch, and the one place errors become faults."""

import json

from oslo_db import exception as db_exc
from oslo_log import log as logging
import routes
import webob.dec

from detach_ext.api import fault
from detach_ext.api import microversion
from detach_ext.api import versions
from detach_ext.api import volume_attachments
from detach_ext import context as detach_context
from detach_ext import exception

LOG = logging.getLogger(__name__)

_COLLECTION = '/servers/{server_id}/os-volume_attachments'
_ITEM = _COLLECTION + '/{attachment_id}'

# The v2 API always names the project; v2.1 may leave it out.
_PREFIXES = ('/v2/{project_id}', '/v2.1/{project_id}', '/v2.1')

# path -> {method: handler}
ROUTE_DECLARATIONS = {}
for _prefix in _PREFIXES:
    ROUTE_DECLARATIONS[_prefix + _COLLECTION] = {
        'GET': volume_attachments.index,
    }
    ROUTE_DECLARATIONS[_prefix + _ITEM] = {
        'GET': volume_attachments.show,
        'DELETE': volume_attachments.delete,
    }

# What a filter in front of an existing compute API leaves to that API
# unless [api] filter_serves_reads says otherwise.
READ_HANDLERS = (volume_attachments.index, volume_attachments.show)


def _method_not_allowed(allowed):
    def handler(req, **kwargs):
        return fault.fault_response(
            405, 'The method %s is not allowed for this resource.'
            % req.method, headers={'Allow': allowed})
    return handler


def make_map(declarations):
    """A Routes mapper: each method to its handler, any other method to
    a 405 that names the allowed ones in ``Allow``.

    A match also names its route's ``api_version``, ``v2`` or ``v2.1``
    (only v2.1 has microversions, as in Nova).
    """
    mapper = routes.Mapper()
    for path, targets in declarations.items():
        api_version = path.split('/')[1]
        for method, handler in targets.items():
            mapper.connect(path, handler=handler,
                           api_version=api_version,
                           conditions={'method': [method]})
        mapper.connect(path,
                       handler=_method_not_allowed(', '.join(sorted(targets))),
                       api_version=api_version, method_not_allowed=True)
    return mapper


def api_path(environ):
    """The request path from the API version on.

    Inside Nova's pipeline the ``/v2.1`` prefix has moved to SCRIPT_NAME
    (urlmap), possibly behind a deployment prefix such as ``/compute``.
    """
    script_name = environ.get('SCRIPT_NAME', '').rstrip('/')
    version = script_name.rsplit('/', 1)[-1]
    prefix = '/' + version if version in ('v2', 'v2.1') else ''
    return prefix + environ.get('PATH_INFO', '')


# The services a compute host calls with the user's token (Nova keeps the
# same subset of the catalog in the context it casts).
_CATALOG_TYPES = ('image', 'block-storage', 'volumev3', 'volumev2',
                  'volume', 'key-manager', 'placement', 'network',
                  'accelerator', 'sharev2', 'shared-file-system')


def _compute_side_catalog(catalog):
    return [s for s in catalog if s.get('type') in _CATALOG_TYPES]


def context_from_environ(environ, enforcer):
    """The RequestContext of an authenticated request, or None.

    Identity comes from the headers an auth filter set
    (keystonemiddleware, noauth2) or, behind Nova's own noauth2, from
    ``nova.context``.  As in Nova a user is enough: a token scoped to the
    system or a domain has no project, and the URL and policy checks
    answer it (400, 403) rather than "authentication required".
    """
    kwargs = {'enforcer': enforcer,
              'remote_address': environ.get('REMOTE_ADDR')}
    if environ.get('HTTP_X_IDENTITY_STATUS') == 'Confirmed':
        catalog = environ.get('HTTP_X_SERVICE_CATALOG')
        kwargs['service_catalog'] = _compute_side_catalog(
            json.loads(catalog) if catalog else [])
        context = detach_context.RequestContext.from_environ(environ,
                                                             **kwargs)
    elif environ.get('nova.context') is not None:
        values = environ['nova.context'].to_dict()
        values['request_id'] = environ.get('openstack.request_id',
                                           values.get('request_id'))
        context = detach_context.RequestContext.from_dict(values, **kwargs)
    else:
        return None
    if not context.user_id:
        return None
    context.is_admin = enforcer.is_admin(context)
    return context


class Router:
    """The detach_ext WSGI app.

    :param runtime: the :class:`detach_ext.runtime.Runtime` whose
        collaborators the handlers use.
    """

    def __init__(self, runtime):
        self.runtime = runtime
        self.mapper = make_map(ROUTE_DECLARATIONS)

    def match(self, environ):
        """The routing result of a request (:func:`make_map`), or None."""
        return self.mapper.match(url=api_path(environ), environ=environ)

    @webob.dec.wsgify
    def __call__(self, req):
        match = self.match(req.environ)
        if match is None:
            return fault.fault_response(
                404, 'The resource could not be found.')
        version = None
        if match['api_version'] == 'v2.1' and not match.get(
                'method_not_allowed'):
            try:
                version = microversion.negotiate(req.headers)
            except exception.DetachExtException as exc:
                return fault.fault_response(exc.code, exc.message)
        return self.dispatch(req, match, version)

    def dispatch(self, req, match, version):
        """Answer a request the route table matched.

        :param match: the routing result (:meth:`match`).
        :param version: the negotiated microversion, None outside /v2.1.
        """
        match = dict(match)
        handler = match.pop('handler')
        del match['api_version']
        if match.pop('method_not_allowed', False):
            return handler(req)
        if version is not None:
            req.environ[microversion.ENVIRON_KEY] = version
        # Building the caller's context makes it the thread's current one
        # (oslo.context); put back what was there (in front of Nova, Nova's
        # own context) once answered.
        previous = detach_context.get_current()
        try:
            response = self._dispatch(req, handler, match)
        except exception.DetachExtException as exc:
            if exc.code >= 500:
                LOG.error('%(method)s %(path)s: %(error)s',
                          {'method': req.method, 'path': req.path,
                           'error': exc.message})
            response = fault.fault_response(exc.code, exc.message)
        except (db_exc.DBConnectionError, db_exc.DBNonExistentDatabase):
            LOG.exception('The compute database is unreachable.')
            exc = exception.DatabaseUnavailable()
            response = fault.fault_response(exc.code, exc.message)
        finally:
            detach_context.set_current(previous)
        if version is not None:
            microversion.add_headers(response, version)
        return response

    def _dispatch(self, req, handler, match):
        context = context_from_environ(req.environ, self.runtime.enforcer)
        if context is None:
            return fault.fault_response(401, 'Authentication required.')
        req.environ['detach_ext.context'] = context
        return handler(req, context, self.runtime.compute_api, **match)


class WrappedVersions:
    """The microversion range of the compute API a filter wraps.

    Read from that API's own version document (``GET /`` under its
    ``/v2.1``) on first use and kept for the life of the process, rather
    than configured: it then follows the Nova that is deployed, through
    upgrades, with nothing for the deployer to keep in step.  The document
    is read in-process with the first request's identity (Nova serves it
    behind its auth filter).  If it cannot be read, detach_ext's own range
    is used for that request and a warning logged; the next request tries
    again.
    """

    _DROPPED = ('wsgi.input', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'PATH_INFO',
                'QUERY_STRING', 'REQUEST_METHOD', 'RAW_URI', 'REQUEST_URI',
                'HTTP_OPENSTACK_API_VERSION',
                'HTTP_X_OPENSTACK_NOVA_API_VERSION')

    def __init__(self, application):
        self.application = application
        self.range = None

    def get(self, environ):
        if self.range is None:
            self.range = self._read(environ)
            if self.range is None:
                return microversion.IMPLEMENTED
            LOG.info('The wrapped compute API answers microversions '
                     '%(min)s to %(max)s.',
                     {'min': self.range.min, 'max': self.range.max})
        return self.range

    def _read(self, environ):
        sub = webob.Request.blank('/', environ={
            k: v for k, v in environ.items()
            if k not in self._DROPPED and not k.startswith('webob.')})
        try:
            response = sub.get_response(self.application)
            doc = response.json['version']
            return microversion.VersionRange(
                microversion.Version.parse(doc['min_version']),
                microversion.Version.parse(doc['version']))
        except Exception as exc:
            LOG.warning('Could not read the microversion range of the '
                        'wrapped compute API from its version document '
                        '(%s); answering within detach_ext\'s own range.',
                        exc)
            return None


class DetachFilter:
    """detach_ext in front of another app.

    The detach (DELETE) is answered here; with ``serve_reads`` the
    attachment GETs and the version documents too.  Every other request
    goes on to ``application`` untouched.

    Under ``/v2.1`` a request is answered here only at a microversion both
    the wrapped API and detach_ext answer; any other (malformed, out of
    the wrapped API's range, newer than detach_ext knows) goes on to the
    wrapped API, which answers it exactly as it would without detach_ext.
    """

    def __init__(self, application, router, serve_reads=False,
                 link_prefix=None):
        self.application = application
        self.router = router
        self.serve_reads = serve_reads
        self.versions = WrappedVersions(application)
        # Requests detach_ext does not answer go on through this.
        self.passthrough = (versions.VersionsFilter(application, link_prefix)
                            if serve_reads else application)

    def __call__(self, environ, start_response):
        match = self.router.match(environ)
        if match is None or match.get('method_not_allowed') or (
                not self.serve_reads and match['handler'] in READ_HANDLERS):
            return self.passthrough(environ, start_response)
        req = webob.Request(environ)
        version = None
        if match['api_version'] == 'v2.1':
            try:
                version = microversion.negotiate(req.headers,
                                                 self.versions.get(environ))
            except exception.DetachExtException:
                return self.application(environ, start_response)
            if version not in microversion.IMPLEMENTED:
                return self.application(environ, start_response)
        return self.router.dispatch(req, match, version)(environ,
                                                         start_response)
