"""Fault bodies as Nova answers them: ``{"<name>": {"message", "code"}}``."""

import json

import webob

FAULT_NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}


def fault_name(code):
    return FAULT_NAMES.get(code, 'computeFault')


def fault_response(code, message, headers=None):
    """A webob Response carrying the fault body for ``code``."""
    body = {fault_name(code): {'message': message, 'code': code}}
    response = webob.Response(status=code)
    response.body = json.dumps(body).encode('utf-8')
    response.headers.update(headers or {})
    # Set by hand: webob leaves the charset off a JSON content type, and
    # the contract's error example carries it.
    response.headers['Content-Type'] = 'application/json; charset=UTF-8'
    return response


def is_fault(response):
    """Whether ``response`` already carries a fault body of its status."""
    if response.content_type != 'application/json':
        return False
    try:
        body = json.loads(response.body)
    except ValueError:
        return False
    return (isinstance(body, dict) and list(body) ==
            [fault_name(response.status_int)])


def message_of(response):
    """The human message of an error response built by someone else
    (keystonemiddleware's ``{"error": {"message": ...}}``, plain text)."""
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict) and inner.get('message'):
            return str(inner['message'])
    text = response.text.strip() if response.body else ''
    return text or response.status.split(' ', 1)[-1]
