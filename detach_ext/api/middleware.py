"""Paste middleware of the standalone pipelines (see api-paste.ini).

Order, outermost first: ``request_id`` names the request (and every
response, errors included, carries the id); ``faultwrap`` turns anything
that escapes into a JSON fault; an auth filter (``authtoken`` or
``noauth2``) says who is calling; the app builds the context from that.
"""

from keystonemiddleware import auth_token
from oslo_log import log as logging
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import webob.dec

from detach_ext.api import base
from detach_ext.api import fault
from detach_ext import context as detach_context
from detach_ext import deploy

LOG = logging.getLogger(__name__)

# Headers an auth filter sets; a client's own copies are never trusted.
_IDENTITY_HEADERS = ('X-Identity-Status', 'X-User-Id', 'X-User-Name',
                     'X-Project-Id', 'X-Project-Name', 'X-Roles',
                     'X-Service-Catalog', 'X-Tenant-Id', 'X-User',
                     'X-Tenant', 'X-Role', 'X-System-Scope',
                     'OpenStack-System-Scope', 'X-Domain-Id',
                     'X-Domain-Name')
# ... as WSGI environ keys.
_IDENTITY_ENVIRON = tuple('HTTP_' + h.upper().replace('-', '_')
                          for h in _IDENTITY_HEADERS)


class RequestId(request_id.RequestId):
    """oslo.middleware's request id, also answered as Nova's header."""

    compat_headers = ['x-compute-request-id']


class FaultWrapper(base.Middleware):
    """Every error leaves as a JSON fault body; a 500 shows no traceback.

    Error responses built further in by others (keystonemiddleware's 401)
    are rewritten into the same fault shape, keeping their headers
    (``WWW-Authenticate``).
    """

    @webob.dec.wsgify
    def __call__(self, req):
        # Until the app knows who is calling (and after the request), log
        # lines carry this request's id and no user: never the context of
        # the request this thread answered before.
        detach_context.set_current(detach_context.RequestContext(
            request_id=req.environ.get(request_id.ENV_REQUEST_ID),
            global_request_id=req.environ.get(request_id.GLOBAL_REQ_ID)))
        try:
            return self._answer(req)
        finally:
            detach_context.set_current(None)

    def _answer(self, req):
        try:
            response = req.get_response(self.application)
        except Exception:
            LOG.exception('Unexpected error answering %(method)s %(path)s',
                          {'method': req.method, 'path': req.path})
            return fault.fault_response(
                500, 'Unexpected API Error. The error has been logged; '
                     'quote the request id when you report it.')
        if response.status_int >= 400 and not fault.is_fault(response):
            headers = {k: v for k, v in response.headers.items()
                       if k.lower() not in ('content-type',
                                            'content-length')}
            return fault.fault_response(response.status_int,
                                        fault.message_of(response), headers)
        return response


class NoAuth2(base.Middleware):
    """Development auth: the token ``user:project`` is believed as it is.

    The user ``admin`` gets the admin role; ``X-Roles`` (comma separated)
    replaces the roles, to try policy files.  Never deploy this.
    """

    def __call__(self, environ, start_response):
        # Plain WSGI (the headers are environ keys): no request object.
        token = environ.get('HTTP_X_AUTH_TOKEN', '')
        if not token:
            return fault.fault_response(
                401, 'Authentication required: send X-Auth-Token: '
                     'user:project (noauth2).')(environ, start_response)
        user_id, _sep, project_id = token.partition(':')
        project_id = project_id or user_id
        roles = environ.get('HTTP_X_ROLES')
        if roles is None:
            roles = ('admin,member,reader' if user_id == 'admin'
                     else 'member,reader')
        for key in _IDENTITY_ENVIRON:
            environ.pop(key, None)
        environ.update({
            'HTTP_X_IDENTITY_STATUS': 'Confirmed',
            'HTTP_X_USER_ID': user_id,
            'HTTP_X_PROJECT_ID': project_id,
            'HTTP_X_ROLES': roles,
            'HTTP_X_SERVICE_CATALOG': '[]',
        })
        return self.application(environ, start_response)


def authtoken_factory(global_conf, **local_conf):
    """keystonemiddleware's auth_token, reading ``[keystone_authtoken]``
    from detach_ext's own configuration files.

    Values set in the paste section still win, as with the plain
    ``keystonemiddleware.auth_token:filter_factory``.
    """
    conf = deploy.conf_for(global_conf, local_conf)
    options = {k: v for k, v in local_conf.items() if k != 'config_file'}
    options['oslo_config_config'] = conf

    def _filter(app):
        return auth_token.AuthProtocol(app, dict(options))
    return _filter


def sizelimit_factory(global_conf, **local_conf):
    """oslo.middleware's request body limit (413 beyond
    ``[oslo_middleware] max_request_body_size``), reading detach_ext's own
    configuration files rather than the global ConfigOpts."""
    conf = deploy.conf_for(global_conf, local_conf)

    def _filter(app):
        return sizelimit.RequestBodySizeLimiter(app, conf)
    return _filter
