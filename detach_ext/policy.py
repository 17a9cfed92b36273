"""The policy enforcer: rules from code, overrides from the operator's file."""

import inspect
import os
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import _checks
from oslo_policy import policy

from detach_ext import exception
from detach_ext import policies

LOG = logging.getLogger(__name__)


class InvalidPolicyFile(ValueError):
    """The operator's policy file cannot be read as rules."""


class Enforcer:
    """Ask oslo.policy; answer with detach_ext's exceptions.

    :param conf: the ConfigOpts whose ``[oslo_policy]`` names the file of
        overrides (looked up beside the configuration files, re-read when
        it changes).
    :raises InvalidPolicyFile: if that file cannot be parsed now: a process
        refuses to start rather than enforce rules other than the
        operator's.

    A file that is edited into something unparsable later is reported
    once (an error in the log) and otherwise ignored: every process goes
    on enforcing the rules it read last, until the file changes again.
    """

    def __init__(self, conf):
        self._enforcer = make_enforcer(conf)
        # oslo.policy looks for changed policy files (several path lookups
        # and stat calls) on every check, twice a request here.  detach_ext
        # stats the file it read on each request and lets oslo.policy look
        # everywhere (a new file, policy_dirs) once a second.
        self._load_rules = self._enforcer.load_rules
        self._enforcer.load_rules = _no_reload
        self._next_look = 0.0
        self._mtime = _mtime(self._enforcer.policy_path)

    def _reload(self):
        # oslo.policy re-reads a file whose mtime changed and raises if it
        # cannot parse it; having noted the new mtime, it then keeps the
        # rules it had without trying again.
        now = time.monotonic()
        mtime = _mtime(self._enforcer.policy_path)
        if now < self._next_look and mtime == self._mtime:
            return
        self._next_look = now + RELOAD_INTERVAL
        self._mtime = mtime
        try:
            self._load_rules()
        except Exception as exc:  # whatever the file holds
            LOG.error('The policy file %(path)s cannot be read as rules '
                      '(%(error)s); the rules read before stay in force '
                      'until the file is fixed.',
                      {'path': self._enforcer.policy_path,
                       'error': _one_line(exc)})

    def authorize(self, action, target, context):
        self._reload()
        try:
            return self._enforcer.authorize(
                action, target, context, do_raise=True,
                exc=exception.PolicyNotAuthorized, action=action)
        except policy.InvalidScope:
            raise exception.PolicyNotAuthorized(action=action)

    def is_admin(self, context):
        """Whether ``context_is_admin`` holds for the caller."""
        self._reload()
        return self._enforcer.authorize('context_is_admin', {}, context)


# Seconds between two looks for a changed policy file.
RELOAD_INTERVAL = 1.0


def _no_reload(force_reload=False):
    pass


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns if path else None
    except OSError:
        return None


def _one_line(exc):
    return ' '.join(str(exc).split()) or type(exc).__name__


def _remember_check_signatures():
    """Spare oslo.policy a signature inspection per check evaluated.

    oslo.policy 6 (``_checks._check``) calls ``inspect.getfullargspec``
    on a check's ``__call__`` every time it evaluates the check, to learn
    whether the check takes the rule's name: about 40 microseconds each,
    and a detach evaluates seven checks (``context_is_admin`` and the
    delete rule), most of the time the enforcer takes.  The answer depends
    only on the check's class, so it is remembered per ``__call__``
    function; anything else (a check whose ``__call__`` is not a method)
    takes oslo.policy's own path.  What each check is given, and so every
    decision, is unchanged.  Replaced once per process; if oslo.policy no
    longer has the function, nothing is replaced.
    """
    original = getattr(_checks, '_check', None)
    if original is None or getattr(original, 'remembers', False):
        return
    wide = {}

    def _check(rule, target, creds, enforcer, current_rule):
        function = getattr(rule.__call__, '__func__', None)
        if function is None:
            return original(rule, target, creds, enforcer, current_rule)
        takes_rule = wide.get(function)
        if takes_rule is None:
            takes_rule = wide[function] = len(
                inspect.getfullargspec(rule.__call__).args) > 4
        if takes_rule:
            return rule(target, creds, enforcer, current_rule)
        return rule(target, creds, enforcer)

    _check.remembers = True
    _checks._check = _check


def make_enforcer(conf):
    _remember_check_signatures()
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    try:
        enforcer.load_rules()
    except Exception as exc:  # whatever the file holds
        raise InvalidPolicyFile(
            'The policy file %s cannot be read as rules: %s'
            % (enforcer.policy_path, _one_line(exc))) from exc
    return enforcer


def get_enforcer():
    """The enforcer for the oslopolicy-* tools (their entry point).

    They call this without arguments and have parsed their own command
    line into the global ConfigOpts; detach_ext itself never uses it.
    """
    cfg.CONF([], project='detach_ext')
    return make_enforcer(cfg.CONF)
