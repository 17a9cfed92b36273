"""Compute API microversions under ``/v2.1``, negotiated as Nova does.

The header is read with microversion-parse (``OpenStack-API-Version:
compute X.Y``, else the legacy ``X-OpenStack-Nova-API-Version``), as Nova
and placement read it; the value is checked with Nova's rules: no header
means the minimum, ``latest`` the maximum, anything but ``X.Y`` is a 400
and a version outside the range a 406.

The range detach_ext implements is Nova 34.0.0's, 2.1 to 2.104: the
operations it serves change at the versions named below and at no other,
so it behaves as Nova at every one of them.  Standalone it advertises that
range; as a filter it answers within the range of the compute API it wraps
(:class:`detach_ext.api.router.WrappedVersions`).
"""

import collections
import re

import microversion_parse

from detach_ext import exception


class Version(collections.namedtuple('Version', 'major minor')):
    """A microversion; compares as a tuple."""

    def __str__(self):
        return '%d.%d' % self

    @classmethod
    def parse(cls, text):
        """``X.Y`` as Nova accepts it, or raise MicroversionInvalid."""
        match = _FORMAT.match(text or '')
        if not match:
            raise exception.MicroversionInvalid(version=text)
        return cls(int(match.group(1)), int(match.group(2)))


# Nova's APIVersionRequest format: no leading zeros, minor may be 0.
_FORMAT = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')

MIN_VERSION = Version(2, 1)
MAX_VERSION = Version(2, 104)

# Where the answers of detach_ext's operations change (Nova's
# volume_attachments.py).
SHELVED_DETACH = Version(2, 20)      # shelved(_offloaded) servers detach
SHOW_TAG = Version(2, 70)            # "tag" in the attachment views
STRICT_INDEX_QUERY = Version(2, 75)  # unknown query parameters are a 400
SHOW_DELETE_ON_TERMINATION = Version(2, 79)
SHOW_ATTACHMENT_ID = Version(2, 89)  # attachment_id and bdm_uuid, no id
STRICT_SHOW_QUERY = Version(2, 102)

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
SERVICE_TYPE = 'compute'

# Where the router leaves the negotiated version for the handlers.
ENVIRON_KEY = 'detach_ext.microversion'


class VersionRange(collections.namedtuple('VersionRange', 'min max')):
    """The versions an API answers, both ends included."""

    def __contains__(self, version):
        return self.min <= version <= self.max

    def intersect(self, other):
        return VersionRange(max(self.min, other.min),
                            min(self.max, other.max))


IMPLEMENTED = VersionRange(MIN_VERSION, MAX_VERSION)


def requested(headers):
    """The version text a request asks for, or None for no header."""
    return microversion_parse.get_version(
        headers, service_type=SERVICE_TYPE, legacy_headers=[LEGACY_HEADER])


def negotiate(headers, versions=IMPLEMENTED):
    """The version a request gets within ``versions``.

    :raises: MicroversionInvalid (400) or MicroversionNotSupported (406).
    """
    text = requested(headers)
    if text is None:
        return versions.min
    if text == 'latest':
        return versions.max
    version = Version.parse(text)
    if version not in versions:
        raise exception.MicroversionNotSupported(
            version=str(version), min=str(versions.min),
            max=str(versions.max))
    return version


def of(req):
    """The version negotiated for ``req`` (2.1 for the legacy ``/v2``)."""
    return req.environ.get(ENVIRON_KEY, MIN_VERSION)


def add_headers(response, version):
    text = str(version)
    response.headers[HEADER] = '%s %s' % (SERVICE_TYPE, text)
    response.headers[LEGACY_HEADER] = text
    response.headers['Vary'] = '%s, %s' % (HEADER, LEGACY_HEADER)
