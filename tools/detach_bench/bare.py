"""A WSGI app that answers 202 and does nothing: the server's own cost."""


def application(environ, start_response):
    start_response('202 Accepted', [('Content-Length', '0')])
    return [b'']
