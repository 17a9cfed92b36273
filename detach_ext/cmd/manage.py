"""``detach-ext-manage``: database schema commands."""

import sys

from oslo_config import cfg

from detach_ext import conf as detach_conf
from detach_ext.db import api as db_api
from detach_ext.db import migration


def _db_sync(conf, db):
    create_nova = (conf.command.create_nova_schema or
                   conf.detach_ext_database.create_nova_schema)
    migration.db_sync(db.engine, create_nova=create_nova)
    print('detach_ext tables at revision %s' % migration.db_version(db.engine))


def _db_version(conf, db):
    print(migration.db_version(db.engine) or 'None')


def _add_commands(subparsers):
    db = subparsers.add_parser('db', help='Database schema commands.')
    db_commands = db.add_subparsers(dest='db_command')
    db_commands.required = True
    sync = db_commands.add_parser(
        'sync', help='Create or upgrade the tables detach_ext owns.')
    sync.add_argument('--create-nova-schema', action='store_true',
                      help='Also create the Nova tables detach_ext reads '
                           'where they are missing (standalone only).')
    sync.set_defaults(func=_db_sync)
    version = db_commands.add_parser(
        'version', help='Print the revision of detach_ext\'s tables.')
    version.set_defaults(func=_db_version)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = detach_conf.load(argv, cli_opts=[cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands)])
    db = db_api.Database(conf)
    try:
        conf.command.func(conf, db)
    finally:
        db.dispose()
    return 0
