"""Configuration options of detach_ext, registered on a ConfigOpts passed in.

detach_ext never reads the global ``cfg.CONF`` on its main path (as
placement does not): the paste factories, the commands and the tests each
build their own :class:`oslo_config.cfg.ConfigOpts` with :func:`load`.
"""

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
import oslo_messaging
from oslo_messaging._metrics import client as om_metrics
from oslo_messaging._tracing import client as om_tracing
from oslo_policy import opts as policy_opts

from detach_ext.conf import api
from detach_ext.conf import cinder
from detach_ext.conf import compute
from detach_ext.conf import database
from detach_ext.conf import service_user
from detach_ext.conf import volume

PROJECT = 'detach_ext'

_MODULES = (api, cinder, compute, database, service_user, volume)


def set_lib_defaults():
    """Defaults detach_ext prefers for options owned by libraries."""
    # Nova's compute RPC lives on the ``nova`` exchange; a real nova-compute
    # only hears casts published there.
    oslo_messaging.set_transport_defaults(control_exchange='nova')


def register_opts(conf):
    """Register every option detach_ext and its libraries read.

    :param conf: the :class:`oslo_config.cfg.ConfigOpts` to register on.
    """
    set_lib_defaults()
    for module in _MODULES:
        module.register_opts(conf)
    db_options.set_defaults(conf, connection=database.DEFAULT_CONNECTION)
    # oslo.db tests a new engine's first connection up to max_retries
    # times, retry_interval (10 s) apart: 100 s by default, far beyond a
    # request's life.  detach_ext does not test it: the first statement
    # meets an unreachable database and the request answers 503 at once;
    # the next one connects again.
    conf.set_default('max_retries', 0, group='database')
    policy_opts.set_defaults(conf, policy_file='policy.yaml')
    # oslo.messaging 18 registers [oslo_messaging_tracing] and
    # [oslo_messaging_metrics] on the global cfg.CONF only (and leaves them
    # out of its list_opts()), yet RPCClient.cast reads both from the
    # ConfigOpts the transport was built with: without these lines a cast
    # through a private ConfigOpts raises NoSuchOptError.  The functional
    # tests cast through private ConfigOpts and catch a regression.
    conf.register_opts(om_tracing.oslo_messaging_tracing,
                       group='oslo_messaging_tracing')
    conf.register_opts(om_metrics.oslo_messaging_metrics,
                       group='oslo_messaging_metrics')
    try:
        logging.register_options(conf)
    except cfg.ArgsAlreadyParsedError:  # pragma: no cover - already parsed
        pass


def load(args=None, config_files=None, cli_opts=()):
    """Build a ConfigOpts with detach_ext's options, parsed.

    :param args: command line arguments (defaults to none).
    :param config_files: configuration files to read; ``None`` means the
        usual oslo.config search for ``detach_ext.conf``.
    :param cli_opts: options of a command's own command line, registered
        first (so an option of a file group may also be given there).
    :returns: a parsed :class:`oslo_config.cfg.ConfigOpts`.
    """
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(cli_opts)
    register_opts(conf)
    conf(args or [], project=PROJECT,
         default_config_files=config_files)
    check(conf)
    return conf


def check(conf):
    """Read the options oslo.config checks only when they are read, so
    that a bad value stops the process loading the configuration with
    oslo.config's message instead of failing every request.

    :raises oslo_config.cfg.ConfigFileValueError: naming the option, the
        file and what is accepted.
    """
    conf.upgrade_levels.compute


def list_opts():
    """The options of detach_ext's own groups, for the sample generator."""
    opts = []
    for module in _MODULES:
        opts.extend(module.list_opts())
    return opts
