"""Version documents (``GET /``, ``/v2``, ``/v2.1``), as Nova answers them.

They are answered before authentication (clients discover versions before
they have a token), by :class:`VersionsFilter` in the standalone
pipelines.  Only what detach_ext supports is advertised.
"""

import re
import urllib.parse

import webob

from detach_ext.api import base
from detach_ext.api import ids
from detach_ext.api import microversion

_VERSION_PATH = re.compile(r'^/(v2|v2\.1)(/%s)?/?$' % ids.PROJECT_ID)

VERSIONS = {
    'v2': {'id': 'v2.0', 'status': 'SUPPORTED', 'version': '',
           'min_version': '', 'updated': '2011-01-21T11:33:21Z'},
    'v2.1': {'id': 'v2.1', 'status': 'CURRENT',
             'version': str(microversion.MAX_VERSION),
             'min_version': str(microversion.MIN_VERSION),
             'updated': '2013-07-23T11:33:21Z'},
}


def match(environ):
    """``'root'``, ``'v2'``, ``'v2.1'`` for a version document request,
    else None."""
    if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
        return None
    path = environ.get('PATH_INFO', '') or '/'
    if path == '/':
        return 'root'
    found = _VERSION_PATH.match(path)
    return found.group(1) if found else None


def _document(base_url, name):
    doc = dict(VERSIONS[name])
    doc['links'] = [{'rel': 'self', 'href': '%s/%s/' % (base_url, name)}]
    return doc


def link_prefix(url, prefix):
    """``url`` under ``prefix`` as Nova's ``[api] compute_link_prefix``
    puts it: the prefix's scheme and host, its path before the URL's."""
    if not prefix:
        return url
    parts = list(urllib.parse.urlsplit(url))
    prefix_parts = urllib.parse.urlsplit(prefix)
    parts[0:2] = prefix_parts[0:2]
    parts[2] = prefix_parts[2] + parts[2]
    return urllib.parse.urlunsplit(parts).rstrip('/')


def response(req, kind, prefix=None):
    """The version document ``kind`` (:func:`match`).

    :param prefix: ``[api] compute_link_prefix``.
    """
    base_url = link_prefix(req.application_url, prefix).rstrip('/')
    if kind == 'root':
        return webob.Response(json={'versions': [
            _document(base_url, name) for name in ('v2', 'v2.1')]})
    doc = _document(base_url, kind)
    doc['links'].append({'rel': 'describedby', 'type': 'text/html',
                         'href': 'https://docs.openstack.org/'})
    doc['media-types'] = [{
        'base': 'application/json',
        'type': 'application/vnd.openstack.compute+json;version=2'
                + ('.1' if kind == 'v2.1' else '')}]
    return webob.Response(json={'version': doc})


class VersionsFilter(base.Middleware):
    """Answer version documents; pass everything else on.

    :param link_prefix: ``[api] compute_link_prefix``.

    Its paste filter is :func:`detach_ext.api.middleware.versions_factory`,
    which reads the configuration as the other filters do.
    """

    def __init__(self, application, link_prefix=None):
        super().__init__(application)
        self.link_prefix = link_prefix

    def __call__(self, environ, start_response):
        kind = match(environ)
        if kind is None:
            # Plain WSGI on the way through: no request object built.
            return self.application(environ, start_response)
        return response(webob.Request(environ), kind, self.link_prefix)(
            environ, start_response)
