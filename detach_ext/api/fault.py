"""Fault bodies as Nova answers them: ``{"<name>": {"message", "code"}}``."""

import json
import re

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


# webob's error pages (keystonemiddleware raises webob.exc errors) put the
# status, webob's generic explanation and the raiser's own detail in
# paragraphs separated by blank lines (text) or <br /> (HTML, and the
# "message" of the JSON form).
_PARAGRAPH_BREAK = re.compile(r'<br\s*/?>|\n\s*\n', re.IGNORECASE)
_MARKUP = re.compile(r'<head>.*?</head>|<h1>.*?</h1>|<[^>]*>',
                     re.IGNORECASE | re.DOTALL)


def _sentence(text, status):
    """The last paragraph of ``text`` without markup: the most specific
    thing an error page says (its raiser's detail), as one clean line."""
    paragraphs = (' '.join(_MARKUP.sub(' ', part).split())
                  for part in _PARAGRAPH_BREAK.split(text))
    paragraphs = [p for p in paragraphs if p and p != status]
    return paragraphs[-1] if paragraphs else ''


def message_of(response):
    """The human message of an error response built by someone else:
    keystonemiddleware's ``{"error": {"message": ...}}``, or a webob error
    page (JSON, HTML or text), as one sentence without markup."""
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    text = None
    if isinstance(body, dict):
        inner = next(iter(body.values())) if len(body) == 1 else None
        if isinstance(inner, dict) and inner.get('message'):
            text = str(inner['message'])
        elif isinstance(body.get('message'), str):
            text = body['message']
    elif response.body:
        text = response.text
    message = _sentence(text or '', response.status)
    return message or response.status.split(' ', 1)[-1]
