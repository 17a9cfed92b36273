"""Domain exceptions; each carries the HTTP status the API answers with.

The router turns any of these into a fault body in one place
(:mod:`detach_ext.api.fault`); nothing below the API builds HTTP errors.
"""


class DetachExtException(Exception):
    """Base class: ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = 'An unknown exception occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs
        self.message = message
        super().__init__(message)


class Invalid(DetachExtException):
    msg_fmt = 'Bad request.'
    code = 400


class Forbidden(DetachExtException):
    msg_fmt = 'Forbidden.'
    code = 403


class NotFound(DetachExtException):
    msg_fmt = 'Resource could not be found.'
    code = 404


class Conflict(DetachExtException):
    msg_fmt = 'Conflict.'
    code = 409


class ServiceUnavailable(DetachExtException):
    msg_fmt = 'Service unavailable.'
    code = 503


class MalformedRequestURL(Invalid):
    msg_fmt = 'Malformed request URL: %(reason)s'


class ProjectIdMalformed(MalformedRequestURL):
    def __init__(self, project_id):
        super().__init__(
            reason="project_id '%s' is not a project id: expected 32 "
                   "hexadecimal digits or a UUID" % project_id)


class ProjectIdMismatch(MalformedRequestURL):
    def __init__(self, url_project_id, context_project_id):
        super().__init__(
            reason="URL's project_id '%s' doesn't match Context's "
                   "project_id '%s'" % (url_project_id, context_project_id))


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


class InstanceNotFound(NotFound):
    msg_fmt = 'Instance %(instance_id)s could not be found.'


class VolumeNotAttached(NotFound):
    msg_fmt = ('Instance %(instance_uuid)s is not attached to volume '
               '%(volume_id)s')


class VolumeNotFound(NotFound):
    msg_fmt = 'Volume %(volume_id)s could not be found.'


class CantDetachRootDevice(Forbidden):
    msg_fmt = "Can't detach root device volume"


class InstanceIsLocked(Conflict):
    msg_fmt = 'Instance %(instance_uuid)s is locked'


class InstanceInvalidState(Conflict):
    msg_fmt = ("Cannot '%(method)s' instance %(instance_uuid)s while it is in "
               "%(attr)s %(state)s")


class InstanceNotOnHost(Conflict):
    msg_fmt = ("Cannot '%(method)s' instance %(instance_uuid)s while it has "
               "no compute host")


class ComputeServiceDown(Conflict):
    # Nova's ServiceUnavailable, which its volume attachment API answers
    # with 409; it names no host, not to leak host names to users.
    msg_fmt = 'Service is unavailable at this time.'


class InvalidVolume(Invalid):
    msg_fmt = 'Invalid volume: %(reason)s'


# What becomes of a detach whose undo failed too (see the compute API's
# _undo_begin), or whose begin's COMMIT has an outcome nobody could find
# out (_begin_outcome), said instead of "nothing was changed", which would
# not be true.
UNDONE = 'undone'
ROLLS_BACK_LATER = 'rolls back later'
FINISHES_LATER = 'finishes later'
LEFT_DETACHING = 'left detaching'
UNKNOWN_OUTCOME = 'unknown outcome'
_OUTCOMES = {
    ROLLS_BACK_LATER: ('; the volume could not be set back to in-use yet '
                       'and shows "detaching" until the repair of its '
                       'compute host does it (within a few minutes).  Try '
                       'again then.'),
    FINISHES_LATER: ('; the detach could not be undone either, so the '
                     'compute host will finish it: the volume shows '
                     '"detaching" until then.'),
    LEFT_DETACHING: ('; the volume could not be set back to in-use and '
                     'shows "detaching" until an administrator sets it back '
                     '(openstack volume set --state in-use).'),
    UNKNOWN_OUTCOME: ('; whether the detach was recorded before it went is '
                      'unknown: if it was, the volume shows "detaching" '
                      'until the repair of its compute host finishes the '
                      'detach (within a few minutes); if not, nothing was '
                      'changed.  Look at the volume\'s status before you '
                      'try again.'),
}


class _MaybeUndone(ServiceUnavailable):
    """A 503 whose message says what becomes of the detach."""

    def __init__(self, outcome=UNDONE, **kwargs):
        super().__init__(**kwargs)
        self.outcome = outcome
        if outcome in _OUTCOMES:
            self.message = self.message.split(';')[0] + _OUTCOMES[outcome]


class ComputeUnavailable(_MaybeUndone):
    msg_fmt = ('The compute service could not be reached; nothing was '
               'changed.  Try again later.')


class CastTimedOut(DetachExtException):
    """The broker did not take a cast in time (not an HTTP answer)."""

    msg_fmt = ('The message bus did not take the detach_volume cast within '
               '%(seconds)s seconds.')


class VolumeServiceUnavailable(ServiceUnavailable):
    msg_fmt = ('The block storage service could not be reached; nothing '
               'was changed.  Try again later.')

    def __init__(self, reason=None):
        super().__init__()
        self.reason = reason


class VolumeServiceMisconfigured(DetachExtException):
    """The volume backend's own credentials cannot do what the repair needs
    (not an HTTP answer: the worker and detach-ext-manage say it)."""

    msg_fmt = '%(reason)s'


class DatabaseUnavailable(_MaybeUndone):
    msg_fmt = ('The compute database could not be reached; nothing was '
               'changed.  Try again later.')


class MicroversionInvalid(Invalid):
    msg_fmt = ('API Version String %(version)s is of invalid format. Must '
               'be of format MajorNum.MinorNum.')


class NotAcceptable(DetachExtException):
    msg_fmt = 'Not acceptable.'
    code = 406


class MicroversionNotSupported(NotAcceptable):
    msg_fmt = ('Version %(version)s is not supported by the API. Minimum '
               'is %(min)s and maximum is %(max)s.')


class InvalidQuery(Invalid):
    msg_fmt = '%(reason)s'
