"""``detach-ext-manage``: database schema and repair commands."""

import sys

from oslo_config import cfg

from detach_ext.compute import manager as compute_manager
from detach_ext import conf as detach_conf
from detach_ext.db import api as db_api
from detach_ext.db import migration
from detach_ext import exception
from detach_ext import runtime


def _db_sync(conf, db):
    create_nova = (conf.command.create_nova_schema or
                   conf.detach_ext_database.create_nova_schema)
    migration.db_sync(db.engine, create_nova=create_nova)
    print('detach_ext tables at revision %s' % migration.db_version(db.engine))


def _db_version(conf, db):
    print(migration.db_version(db.engine) or 'None')


def _volume_repair(conf, db):
    """Repair the half-done detaches of one host, or of every host."""
    rt = runtime.Runtime(conf)
    try:
        try:
            rt.volume_api.check_admin_credentials()
        except (exception.VolumeServiceMisconfigured,
                exception.VolumeServiceUnavailable) as exc:
            print('Cannot repair: %s' % _reason(exc), file=sys.stderr)
            return 1
        hosts = ([conf.command.compute_host] if conf.command.compute_host
                 else rt.hosts())
        total = 0
        for host in hosts:
            manager = rt.compute_manager(host)
            if conf.command.dry_run:
                verdicts = list(manager.verdicts(conf.command.older_than))
                for verdict in verdicts:
                    print('%s: %s' % (host, verdict))
                repaired = len([v for v in verdicts
                                if v.action != compute_manager.LEAVE])
                print('%s: %d would be repaired' % (host, repaired))
            else:
                repaired = manager.repair(older_than=conf.command.older_than)
                print('%s: %d repaired' % (host, repaired))
            total += repaired
        print('%d %s' % (total, 'would be repaired' if conf.command.dry_run
                         else 'repaired'))
    finally:
        rt.close()
    return 0


def _reason(exc):
    """What an exception of the volume backend says, with the cause of an
    unreachable service."""
    reason = getattr(exc, 'reason', None)
    return '%s (%s)' % (exc, reason) if reason and reason != str(exc) \
        else str(exc)


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

    volume = subparsers.add_parser(
        'volume', help='Volume commands of the local worker.')
    volume_commands = volume.add_subparsers(dest='volume_command')
    volume_commands.required = True
    repair = volume_commands.add_parser(
        'repair', help='Finish or roll back the detaches left half-done '
                       '(as the worker\'s periodic repair does), for one '
                       'host or every host of the database.')
    repair.add_argument('--compute-host', dest='compute_host',
                        help='Only this compute host.')
    repair.add_argument('--older-than', type=int, default=120,
                        help='Only volumes left so for this many seconds '
                             '(default 120).')
    repair.add_argument('--dry-run', dest='dry_run', action='store_true',
                        help='Change nothing: list each volume the repair '
                             'would touch or leave alone, what it would do '
                             'and why.')
    repair.set_defaults(func=_volume_repair)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = detach_conf.load(argv, cli_opts=[cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands)])
    db = db_api.Database(conf)
    try:
        return conf.command.func(conf, db) or 0
    finally:
        db.dispose()
