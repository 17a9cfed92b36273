"""The policy enforcer: rules from code, overrides from the operator's file."""

from oslo_config import cfg
from oslo_policy import policy

from detach_ext import exception
from detach_ext import policies


class Enforcer:
    """Ask oslo.policy; answer with detach_ext's exceptions.

    :param conf: the ConfigOpts whose ``[oslo_policy]`` names the file of
        overrides (looked up beside the configuration files, re-read when
        it changes).
    """

    def __init__(self, conf):
        self._enforcer = make_enforcer(conf)

    def authorize(self, action, target, context):
        try:
            return self._enforcer.authorize(
                action, target, context, do_raise=True,
                exc=exception.PolicyNotAuthorized, action=action)
        except policy.InvalidScope:
            raise exception.PolicyNotAuthorized(action=action)

    def is_admin(self, context):
        """Whether ``context_is_admin`` holds for the caller."""
        return self._enforcer.authorize('context_is_admin', {}, context)


def make_enforcer(conf):
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    enforcer.load_rules()
    return enforcer


def get_enforcer():
    """The enforcer for the oslopolicy-* tools (their entry point).

    They call this without arguments and have parsed their own command
    line into the global ConfigOpts; detach_ext itself never uses it.
    """
    cfg.CONF([], project='detach_ext')
    return make_enforcer(cfg.CONF)
