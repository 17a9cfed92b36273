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
    a 405 that names the allowed ones in ``Allow``."""
    mapper = routes.Mapper()
    for path, targets in declarations.items():
        for method, handler in targets.items():
            mapper.connect(path, handler=handler,
                           conditions={'method': [method]})
        mapper.connect(path,
                       handler=_method_not_allowed(', '.join(sorted(targets))),
                       method_not_allowed=True)
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
    ``nova.context``.
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
    if not context.user_id or not context.project_id:
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
        """The routing result of a request, or None."""
        return self.mapper.match(url=api_path(environ), environ=environ)

    @webob.dec.wsgify
    def __call__(self, req):
        match = self.match(req.environ)
        if match is None:
            return fault.fault_response(
                404, 'The resource could not be found.')
        handler = match.pop('handler')
        if match.pop('method_not_allowed', False):
            return handler(req)
        version = None
        try:
            if api_path(req.environ).startswith('/v2.1/'):
                version = microversion.requested(req.headers)
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
        if version is not None:
            microversion.add_headers(response, version)
        return response

    def _dispatch(self, req, handler, match):
        context = context_from_environ(req.environ, self.runtime.enforcer)
        if context is None:
            return fault.fault_response(401, 'Authentication required.')
        req.environ['detach_ext.context'] = context
        return handler(req, context, self.runtime.compute_api, **match)


class DetachFilter:
    """detach_ext in front of another app.

    The detach (DELETE) is answered here; with ``serve_reads`` the
    attachment GETs and the version documents too.  Every other request
    goes on to ``application`` untouched.
    """

    def __init__(self, application, router, serve_reads=False):
        self.application = application
        self.router = router
        self.serve_reads = serve_reads

    def __call__(self, environ, start_response):
        if self.serve_reads:
            kind = versions.match(environ)
            if kind is not None:
                req = webob.Request(environ)
                return versions.response(req, kind)(environ, start_response)
        match = self.router.match(environ)
        if match is not None and not match.get('method_not_allowed') and (
                self.serve_reads or match['handler'] not in READ_HANDLERS):
            return self.router(environ, start_response)
        return self.application(environ, start_response)
