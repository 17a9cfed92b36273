"""Paste middleware of the standalone pipelines (see api-paste.ini).

Order, outermost first: ``request_id`` names the request (and every
response, errors included, carries the id); ``faultwrap`` turns anything
that escapes into a JSON fault; an auth filter (``authtoken`` or
``noauth2``) says who is calling; the app builds the context from that.
"""

import re

from keystonemiddleware import auth_token
from oslo_context import context as oslo_context
from oslo_log import log as logging
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import webob
import webob.exc

from detach_ext.api import base
from detach_ext.api import fault
from detach_ext.api import healthcheck
from detach_ext.api import versions
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


_GLOBAL_REQUEST_ID = re.compile(request_id.ID_FORMAT)


class RequestId(request_id.RequestId):
    """oslo.middleware's request id, also answered as Nova's header.

    The same ids, environ keys and response headers as oslo.middleware's
    filter, as plain WSGI: that one builds a webob request and response
    for every request it passes on, this one only adds the headers.
    """

    compat_headers = ['x-compute-request-id']

    def __call__(self, environ, start_response):
        inbound = environ.get('HTTP_X_OPENSTACK_REQUEST_ID', '')
        if _GLOBAL_REQUEST_ID.match(inbound):
            environ[request_id.GLOBAL_REQ_ID] = inbound
        req_id = oslo_context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id
        names = [request_id.HTTP_RESP_HEADER_REQUEST_ID] + self.compat_headers

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _value in headers}
            headers = list(headers) + [(name, req_id) for name in names
                                       if name not in present]
            return start_response(status, headers, exc_info)
        return self.application(environ, start)


class FaultWrapper(base.Middleware):
    """Every error leaves as a JSON fault body; a 500 shows no traceback.

    Error responses built further in by others (keystonemiddleware's 401)
    are rewritten into the same fault shape, keeping their headers
    (``WWW-Authenticate``).  A response below 400 goes out as the app
    gave it, without a response object.
    """

    def __call__(self, environ, start_response):
        # Until the app knows who is calling (and after the request), log
        # lines carry this request's id and no user: never the context of
        # the request this thread answered before.
        detach_context.set_current(detach_context.RequestContext(
            request_id=environ.get(request_id.ENV_REQUEST_ID),
            global_request_id=environ.get(request_id.GLOBAL_REQ_ID)))
        try:
            return self._answer(environ, start_response)
        finally:
            detach_context.set_current(None)

    def _answer(self, environ, start_response):
        req = webob.Request(environ)
        try:
            status, headers, app_iter = req.call_application(
                self.application)
        except Exception:
            LOG.exception('Unexpected error answering %(method)s %(path)s',
                          {'method': req.method, 'path': req.path})
            response = fault.fault_response(
                500, 'Unexpected API Error. The error has been logged; '
                     'quote the request id when you report it.')
            return response(environ, start_response)
        if int(status.split(' ', 1)[0]) < 400:
            start_response(status, headers)
            return app_iter
        response = webob.Response(status=status, headerlist=headers,
                                  app_iter=app_iter)
        if not fault.is_fault(response):
            headers = {k: v for k, v in response.headers.items()
                       if k.lower() not in ('content-type',
                                            'content-length')}
            response = fault.fault_response(
                response.status_int, fault.message_of(response), headers)
        return response(environ, start_response)


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


class RequestBodySizeLimiter(sizelimit.RequestBodySizeLimiter):
    """oslo.middleware's request body limit, as plain WSGI.

    The same checks (a 413 for a ``Content-Length`` beyond
    ``[oslo_middleware] max_request_body_size``, and a body of no stated
    length read through oslo.middleware's ``LimitingReader``), without the
    response object oslo.middleware's filter builds on the way back.
    """

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        max_size = self._conf_get('max_request_body_size')
        if req.content_length is not None and req.content_length > max_size:
            message = ('Request is too large. Larger than '
                       'max_request_body_size (%s).' % max_size)
            LOG.info(message)
            return webob.exc.HTTPRequestEntityTooLarge(
                explanation=message)(environ, start_response)
        if req.content_length is None:
            req.body_file = sizelimit.LimitingReader(req.body_file, max_size)
        return self.application(environ, start_response)


def sizelimit_factory(global_conf, **local_conf):
    """The request body limit (:class:`RequestBodySizeLimiter`), reading
    detach_ext's own configuration files rather than the global
    ConfigOpts."""
    conf = deploy.conf_for(global_conf, local_conf)

    def _filter(app):
        return RequestBodySizeLimiter(app, conf)
    return _filter


def versions_factory(global_conf, **local_conf):
    """The version documents (:class:`detach_ext.api.versions.VersionsFilter`),
    with ``[api] compute_link_prefix`` from detach_ext's own configuration
    files."""
    prefix = deploy.conf_for(global_conf, local_conf).api.compute_link_prefix

    def _filter(app):
        return versions.VersionsFilter(app, prefix)
    return _filter


def healthcheck_factory(global_conf, **local_conf):
    """``GET /healthcheck`` (:mod:`detach_ext.api.healthcheck`), with
    oslo.middleware's ``[healthcheck]`` options from detach_ext's own
    configuration files (the paste section's values win)."""
    rt = deploy.runtime_for(global_conf, local_conf)
    healthcheck.register_opts(rt.conf)
    return healthcheck.filter_factory(rt.conf, rt, local_conf)
