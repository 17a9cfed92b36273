"""The base of detach_ext's own paste middleware."""


class Middleware:
    """Wrap ``application``; ``factory`` is the paste filter factory."""

    def __init__(self, application):
        self.application = application

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls
