"""Compute API microversions under ``/v2.1``, as Nova negotiates them.

detach_ext implements the 2.1 behaviour of its operations and advertises
exactly that: a request for any other version is refused with 406 rather
than answered with a shape the client did not ask for.
"""

import re

from detach_ext import exception

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 1)

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
_SERVICE = 'compute'
_FORMAT = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


def as_string(version):
    return '%d.%d' % version


def requested(headers):
    """The version a request asks for (MIN_VERSION when it asks none).

    :raises: MicroversionInvalid (400) or MicroversionNotSupported (406).
    """
    text = None
    # Several headers arrive joined by commas: "compute 2.1, volume 3.0".
    for part in headers.get(HEADER, '').split(','):
        service, _sep, version = part.strip().partition(' ')
        if service.lower() == _SERVICE and version.strip():
            text = version.strip()
    if text is None:
        text = headers.get(LEGACY_HEADER)
    if text is None:
        return MIN_VERSION
    if text.lower() == 'latest':
        return MAX_VERSION
    match = _FORMAT.match(text)
    if not match:
        raise exception.MicroversionInvalid(version=text)
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise exception.MicroversionNotSupported(
            version=text, min=as_string(MIN_VERSION),
            max=as_string(MAX_VERSION))
    return version


def add_headers(response, version):
    text = as_string(version)
    response.headers[HEADER] = '%s %s' % (_SERVICE, text)
    response.headers[LEGACY_HEADER] = text
    response.headers['Vary'] = '%s, %s' % (HEADER, LEGACY_HEADER)
