"""The request context: who is calling, and the ``can()`` policy check."""

from oslo_context import context
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils

# Nova's utils.strtime() format for the context timestamp.
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


@enginefacade.transaction_context_provider
class RequestContext(context.RequestContext):
    """An oslo.context request context that can hold a DB transaction.

    :param enforcer: the :class:`detach_ext.policy.Enforcer` that ``can()``
        asks; contexts rebuilt on the compute side have none.
    :param service_catalog: the token's service catalog, carried to the
        compute side (which calls the block storage API with it).
    """

    def __init__(self, *args, enforcer=None, service_catalog=None,
                 remote_address=None, timestamp=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enforcer = enforcer
        self.service_catalog = service_catalog or []
        self.remote_address = remote_address
        if isinstance(timestamp, str):
            timestamp = timeutils.parse_strtime(timestamp, _TIME_FORMAT)
        self.timestamp = timestamp or timeutils.utcnow()

    def can(self, action, target=None):
        """Raise PolicyNotAuthorized unless policy allows ``action``.

        :param target: the object acted on; defaults to the caller's own
            project and user.
        """
        if target is None:
            target = {'project_id': self.project_id,
                      'user_id': self.user_id}
        return self.enforcer.authorize(action, target, self)

    def to_dict(self):
        """The context as Nova's RequestContext.to_dict() gives it, so a
        nova-compute rebuilds the same context from a cast."""
        values = super().to_dict()
        values.update({
            'user_id': self.user_id,
            'project_id': self.project_id,
            'is_admin': self.is_admin,
            'read_deleted': 'no',
            'remote_address': self.remote_address,
            'timestamp': self.timestamp.strftime(_TIME_FORMAT),
            'request_id': self.request_id,
            'quota_class': None,
            'user_name': self.user_name,
            'service_catalog': self.service_catalog,
            'project_name': self.project_name,
            'is_admin_project': self.is_admin_project,
        })
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        for key in ('service_catalog', 'remote_address', 'timestamp',
                    'user_name', 'project_name'):
            kwargs.setdefault(key, values.get(key))
        return super().from_dict(values, **kwargs)


def get_current():
    """The context this thread's log lines are written under, or None."""
    return context.get_current()


def set_current(ctxt):
    """Make ``ctxt`` the context this thread's log lines are written under
    (oslo.log reads it); None: no context.

    oslo.context keeps the context of the newest RequestContext built with
    ``overwrite=True`` (its default) in a thread local and never forgets
    it, so a request that builds none would log under the previous
    request's id and user.
    """
    if ctxt is not None:
        ctxt.update_store()
    else:
        # oslo.context can set its store but offers no way to empty it.
        context._request_store.__dict__.pop('context', None)


def get_admin_context():
    """A context for the service's own work (schema, demo data)."""
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          overwrite=False)
