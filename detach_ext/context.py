"""The request context: who is calling, and the ``can()`` policy check."""

from oslo_context import context
from oslo_db.sqlalchemy import enginefacade


@enginefacade.transaction_context_provider
class RequestContext(context.RequestContext):
    """An oslo.context request context that can hold a DB transaction.

    :param enforcer: the :class:`detach_ext.policy.Enforcer` that ``can()``
        asks; contexts rebuilt on the compute side have none.
    :param service_catalog: the token's service catalog, carried to the
        compute side (which calls the block storage API with it).
    """

    def __init__(self, *args, enforcer=None, service_catalog=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enforcer = enforcer
        self.service_catalog = service_catalog or []

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
        values = super().to_dict()
        values['service_catalog'] = self.service_catalog
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        kwargs.setdefault('service_catalog', values.get('service_catalog'))
        return super().from_dict(values, **kwargs)


def get_admin_context():
    """A context for the service's own work (schema, demo data)."""
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          overwrite=False)
