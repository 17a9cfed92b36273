"""Register an option group on one ConfigOpts without sharing it.

oslo.config's ``register_group`` keeps a shallow copy of the OptGroup it is
given, so a module-level OptGroup shares its table of options (and the
overrides and defaults set through it) between every ConfigOpts it is
registered on: ``set_override`` on one deployment's ConfigOpts would
change another's.  detach_ext builds a ConfigOpts per deployment, so each
gets an OptGroup of its own.
"""

from oslo_config import cfg


def register(conf, group, opts):
    """Register ``opts`` under a fresh copy of ``group`` on ``conf``."""
    conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                     help=group.help))
    conf.register_opts(opts, group=group.name)
