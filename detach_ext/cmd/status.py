"""``detach-ext-status upgrade check``: is this deployment ready to run?

Run before and after an upgrade, as every OpenStack service's
``<service>-status upgrade check`` (oslo.upgradecheck).  Each check reads
what the services will read, changes nothing, and answers Success,
Warning or Failure with what to do; the exit code is the worst of them
(0, 1, 2; 255 if a check itself crashed).
"""

import sys

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck
import sqlalchemy as sa

from detach_ext import cells
from detach_ext.compute import rpcapi as compute_rpcapi
from detach_ext.compute import versions
from detach_ext import conf as detach_conf
from detach_ext import context as detach_context
from detach_ext.db import api as db_api
from detach_ext.db import mappings
from detach_ext.db import migration
from detach_ext import deploy
from detach_ext import exception
from detach_ext import policy
from detach_ext.volume import cinder

Code = upgradecheck.Code
Result = upgradecheck.Result

# The Nova tables every request reads.
NOVA_TABLES = ('instances', 'block_device_mapping')


def _one_line(exc):
    return ' '.join(str(exc).split()) or type(exc).__name__


class Checks(upgradecheck.UpgradeCommands):
    """detach_ext's upgrade checks.

    :param conf: a parsed ConfigOpts with detach_ext's options.
    """

    def __init__(self, conf):
        super().__init__()
        self.conf = conf
        self.context = detach_context.get_admin_context()

    def _databases(self):
        """``(name, url)`` of each compute database: ``[database]``, or
        with ``[api_database]`` every cell's but cell0's (it holds no
        server that can be detached from)."""
        if not self.conf.api_database.connection:
            return [('[database]', self.conf.database.connection)]
        api_db = mappings.APIDatabase(self.conf)
        try:
            found = api_db.cell_mappings(self.context)
        finally:
            api_db.dispose()
        return [('cell %s' % m.name,
                 cells.format_url(m.database_connection,
                                  self.conf.database.connection))
                for m in found if m.uuid != mappings.CELL0_UUID]

    def _with_database(self, url, check):
        db = db_api.Database(self.conf, connection=url)
        try:
            return check(db)
        finally:
            db.dispose()

    def _check_schema(self):
        """The Nova tables exist; detach_ext's own are at the code's
        revision (a Failure with the local backend, whose volume table it
        is; a Warning with cinder, which uses only ``detach_ext_rollbacks``,
        on a failed roll back)."""
        head = migration.head_revision()
        local = self.conf.volume.backend == 'local'
        problems, behind, notes = [], [], []
        try:
            databases = self._databases()
        except Exception as exc:
            return Result(Code.FAILURE, 'Nova\'s API database '
                          '([api_database] connection) cannot be read: %s'
                          % _one_line(exc))
        for name, url in databases:
            def check(db):
                tables = set(sa.inspect(db.engine).get_table_names())
                missing = [t for t in NOVA_TABLES if t not in tables]
                if missing:
                    problems.append(
                        '%s has no table %s: point it at a Nova cell '
                        'database, or for a standalone deployment run '
                        '"detach-ext-manage db sync --create-nova-schema".'
                        % (name, ', '.join(missing)))
                current = migration.db_version(db.engine)
                if current != head:
                    behind.append(
                        '%s: detach_ext\'s tables are at revision %s, this '
                        'code needs %s: run "detach-ext-manage db sync" '
                        '(with the same configuration).' % (name, current,
                                                            head))
                else:
                    notes.append(name)
            try:
                self._with_database(url, check)
            except Exception as exc:
                problems.append('%s cannot be read: %s'
                                % (name, _one_line(exc)))
        if problems or (behind and local):
            return Result(Code.FAILURE, ' '.join(problems + behind))
        if behind:
            return Result(Code.WARNING, ' '.join(behind) + ' With the '
                          'cinder backend the API records there a roll back '
                          'Cinder could not take, for the repair; without '
                          'the table such a volume is left detaching for '
                          'an administrator.')
        return Result(Code.SUCCESS, 'detach_ext\'s tables are at revision '
                      '%s in %s.' % (head, ', '.join(notes)))

    def _check_upgrade_levels(self):
        """``[upgrade_levels] compute`` gives a cap the API can cast at."""
        try:
            level = self.conf.upgrade_levels.compute
        except (cfg.ConfigFileValueError, ValueError) as exc:
            return Result(Code.FAILURE, _one_line(exc))
        if level != versions.AUTO:
            cap = versions.cap_for_level(level) if level else \
                compute_rpcapi.ComputeAPI.VERSION
            return self._cap_result(cap, 'from [upgrade_levels] compute = '
                                    '%s' % (level or '(unset)'))
        found, unread = [], []
        try:
            databases = self._databases()
        except Exception as exc:
            return Result(Code.FAILURE, 'Nova\'s API database cannot be '
                          'read: %s' % _one_line(exc))
        for name, url in databases:
            try:
                version = self._with_database(
                    url, lambda db: db.service_get_minimum_version(
                        self.context, compute_rpcapi.BINARY))
            except Exception as exc:
                unread.append('%s (%s)' % (name, _one_line(exc)))
                continue
            if version:
                found.append(version)
        if not found and unread:
            return Result(Code.FAILURE, 'auto reads the services table, '
                          'and none could be read: %s.' % '; '.join(unread))
        if not found:
            return Result(Code.WARNING, 'auto: no nova-compute service is '
                          'registered, so casts go at the newest version '
                          '(%s) until one is: set a version or a release '
                          'name if older nova-computes will consume them.'
                          % versions.cap_for_service_version(0))
        minimum = min(found)
        result = self._cap_result(
            versions.cap_for_service_version(minimum),
            'auto: the oldest nova-compute has service version %d' % minimum)
        if unread and result.code == Code.SUCCESS:
            return Result(Code.WARNING, '%s; not read: %s (the API skips '
                          'those cells as Nova does).'
                          % (result.details, '; '.join(unread)))
        return result

    @staticmethod
    def _cap_result(cap, source):
        major = int(cap.split('.')[0])
        if major < 5:
            return Result(Code.FAILURE, 'Compute RPC version cap %s (%s) is '
                          'below 5.0: every detach would answer 503. Upgrade '
                          'the nova-compute services (or the value) first.'
                          % (cap, source))
        sent = '6.0' if major >= 6 else '5.0'
        return Result(Code.SUCCESS, 'Compute RPC version cap %s (%s): '
                      'detach_volume is sent as %s.' % (cap, source, sent))

    def _check_policy_rules(self):
        """The policy file parses as rules (the API refuses to start if
        not)."""
        try:
            enforcer = policy.make_enforcer(self.conf)
        except policy.InvalidPolicyFile as exc:
            return Result(Code.FAILURE, '%s. The API will not start with '
                          'it: fix it, or remove it to use the defaults.'
                          % exc)
        path = enforcer.policy_path
        if not path:
            return Result(Code.SUCCESS, 'No policy file: the defaults '
                          'registered in code apply.')
        return Result(Code.SUCCESS, '%s: %d rules overridden.'
                      % (path, len(enforcer.file_rules)))

    def _check_cells(self):
        """With ``[api_database]``: every cell's database (and message bus)
        answers."""
        if not self.conf.api_database.connection:
            return Result(Code.SUCCESS, 'No [api_database] connection: one '
                          'cell, [database] connection.')
        api_db = mappings.APIDatabase(self.conf)
        try:
            found = api_db.cell_mappings(self.context)
        except Exception as exc:
            return Result(Code.FAILURE, '[api_database] connection cannot '
                          'be read: %s' % _one_line(exc))
        finally:
            api_db.dispose()
        if not any(m.uuid != mappings.CELL0_UUID for m in found):
            return Result(Code.FAILURE, 'Nova\'s API database maps no cell '
                          'but cell0: run "nova-manage cell_v2 create_cell" '
                          '(or check [api_database] connection).')
        problems = []
        for m in found:
            url = cells.format_url(m.database_connection,
                                   self.conf.database.connection)
            try:
                self._with_database(url, _select_one)
            except Exception as exc:
                problems.append('cell %s: database %s unreachable (%s)'
                                % (m.name, _safe_url(url), _one_line(exc)))
        if problems:
            return Result(Code.FAILURE, '; '.join(problems) + '. Detaches '
                          'of servers in those cells answer 503.')
        return Result(Code.SUCCESS, 'Every cell database answers: %s.'
                      % ', '.join(m.name for m in found))

    def _check_cinder(self):
        """With the cinder backend: the block storage API answers the
        ``[cinder]`` credentials (which the repair and manage use)."""
        if self.conf.volume.backend != 'cinder':
            return Result(Code.SUCCESS, 'The local volume backend: no '
                          'block storage API.')
        try:
            auth = ks_loading.load_auth_from_conf_options(self.conf,
                                                          'cinder')
        except Exception as exc:
            return Result(Code.FAILURE, '[cinder] credentials cannot be '
                          'loaded: %s' % _one_line(exc))
        if auth is None:
            return Result(Code.WARNING, '[cinder] has no auth_type: requests '
                          'use the caller\'s token, but the reference '
                          'worker\'s repair and "detach-ext-manage volume '
                          'repair" cannot reach the block storage API (in '
                          'front of Nova, where nova-compute detaches, they '
                          'do not run). Set [cinder] auth_type and its '
                          'options for them: a user with an admin role.')
        # The volume backend's own check: Keystone accepts the credentials
        # and they hold one of [cinder] admin_roles.
        try:
            cinder.API(self.conf).check_admin_credentials()
        except exception.VolumeServiceMisconfigured as exc:
            return Result(Code.FAILURE, str(exc))
        except exception.VolumeServiceUnavailable as exc:
            return Result(Code.FAILURE, 'Keystone cannot be reached with '
                          'the [cinder] options: %s' % exc.reason)
        session = ks_loading.load_session_from_conf_options(self.conf,
                                                            'cinder')
        adapter = ks_loading.load_adapter_from_conf_options(
            self.conf, 'cinder', session=session, auth=auth)
        try:
            response = adapter.get('/volumes?limit=1', raise_exc=False)
        except ks_exc.ClientException as exc:
            return Result(Code.FAILURE, 'The block storage API cannot be '
                          'reached with the [cinder] options: %s'
                          % _one_line(exc))
        if response.status_code in (401, 403):
            return Result(Code.FAILURE, 'The block storage API refused the '
                          '[cinder] credentials (%d): check its username, '
                          'password and project.' % response.status_code)
        if not response.ok:
            return Result(Code.FAILURE, 'The block storage API answered %d '
                          'to a volume list.' % response.status_code)
        return Result(Code.SUCCESS, 'The block storage API at %s answers '
                      'the [cinder] credentials.'
                      % response.url.split('?')[0])

    _upgrade_checks = (
        ('detach_ext database schema', _check_schema),
        ('Compute RPC version ([upgrade_levels] compute)',
         _check_upgrade_levels),
        ('Policy File JSON to YAML Migration',
         (common_checks.check_policy_json, {'conf': None})),
        ('Policy file rules', _check_policy_rules),
        ('Cells v2', _check_cells),
        ('Block storage API ([cinder])', _check_cinder),
    )

    def check(self):
        # oslo.upgradecheck passes each check's keyword arguments from the
        # class; the policy check needs this instance's ConfigOpts.
        self._upgrade_checks = tuple(
            (name, (func[0], {'conf': self.conf}))
            if isinstance(func, tuple) else (name, func)
            for name, func in type(self)._upgrade_checks)
        return super().check()


def _select_one(db):
    with db.engine.connect() as connection:
        connection.execute(sa.text('SELECT 1'))


def _safe_url(url):
    """A database URL without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return '(a URL that cannot be parsed)'


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = cfg.ConfigOpts()
    detach_conf.register_opts(conf)
    return upgradecheck.main(conf, detach_conf.PROJECT, Checks(conf),
                             argv=argv,
                             default_config_files=deploy.config_files())
