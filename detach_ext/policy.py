"""The policy enforcer: rules from code, overrides from the operator's file."""

import inspect
import os
import time

from oslo_config import cfg
from oslo_log import log as logging
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
        _remember_rules(self._enforcer)

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


class _Remembered(policy.Check):
    """One check of detach_ext's rules, evaluated as oslo.policy would.

    oslo.policy 6 evaluates each check of a rule through
    ``_checks._check``, which calls ``inspect.getfullargspec`` on the
    check's ``__call__`` every time, to learn whether it takes the rule's
    name: about 13 microseconds each here, and a detach evaluates a dozen
    checks (``context_is_admin`` and the delete rule, with the rules they
    name), most of the enforcer's time.  When the rules are loaded, each
    rule of this enforcer is wrapped in this class:

    * ``and``, ``or``, ``not`` and ``rule:`` (oslo.policy's own classes,
      not subclasses) are evaluated here as oslo.policy's ``__call__``
      does, on the wrapped checks under them (``rule:`` on the wrapped
      rule it names, False if there is none);
    * any other check is called with the arguments oslo.policy would give
      it, found once from its signature.

    oslo.policy's enforcer still calls the top of each rule through
    ``_checks._check``, and the signature it inspects there is given as
    ``__signature__`` (which ``inspect`` reads instead of working it out).
    Nothing of oslo.policy is replaced, the rule tree is not changed
    (``__str__`` is the wrapped check's), and other enforcers of the
    process (Nova's, around the filter) are left as they are.
    """

    def __init__(self, check):
        super().__init__('detach_ext', str(check))
        self.check = check
        self.scope_types = check.scope_types
        kind = type(check)
        if kind is policy.AndCheck:
            self._children = [_remembered(c) for c in check.rules]
            self._evaluate = self._all
        elif kind is policy.OrCheck:
            self._children = [_remembered(c) for c in check.rules]
            self._evaluate = self._any
        elif kind is policy.NotCheck:
            self._children = [_remembered(check.rule)]
            self._evaluate = self._not
        elif kind is policy.RuleCheck:
            self._evaluate = self._rule
        elif len(inspect.getfullargspec(check.__call__).args) > 4:
            self._evaluate = check
        else:
            self._evaluate = self._legacy

    def __str__(self):
        return str(self.check)

    def __call__(self, target, creds, enforcer, current_rule=None):
        return self._evaluate(target, creds, enforcer, current_rule)

    def _all(self, target, creds, enforcer, current_rule):
        for child in self._children:
            if not child(target, creds, enforcer, current_rule):
                return False
        return True

    def _any(self, target, creds, enforcer, current_rule):
        for child in self._children:
            if child(target, creds, enforcer, current_rule):
                return True
        return False

    def _not(self, target, creds, enforcer, current_rule):
        return not self._children[0](target, creds, enforcer, current_rule)

    def _rule(self, target, creds, enforcer, current_rule):
        try:
            rule = enforcer.rules[self.check.match]
        except KeyError:
            return False
        return _remembered(rule)(target, creds, enforcer, current_rule)

    def _legacy(self, target, creds, enforcer, current_rule):
        # A check written before oslo.policy passed the rule's name.
        return self.check(target, creds, enforcer)


_Remembered.__call__.__signature__ = inspect.signature(_Remembered.__call__)


def _remembered(check):
    """``check`` wrapped in :class:`_Remembered` (once)."""
    if isinstance(check, _Remembered):
        return check
    return _Remembered(check)


def _remember_rules(enforcer):
    """Wrap the rules ``enforcer`` has loaded (those already wrapped stay
    as they are)."""
    rules = enforcer.rules
    for name, check in list(rules.items()):
        if not isinstance(check, _Remembered):
            rules[name] = _remembered(check)


def make_enforcer(conf):
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    try:
        enforcer.load_rules()
    except Exception as exc:  # whatever the file holds
        raise InvalidPolicyFile(
            'The policy file %s cannot be read as rules: %s'
            % (enforcer.policy_path, _one_line(exc))) from exc
    _remember_rules(enforcer)
    return enforcer


def get_enforcer():
    """The enforcer for the oslopolicy-* tools (their entry point).

    They call this without arguments and have parsed their own command
    line into the global ConfigOpts; detach_ext itself never uses it.
    """
    cfg.CONF([], project='detach_ext')
    return make_enforcer(cfg.CONF)
