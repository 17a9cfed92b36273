#!/usr/bin/env python3
"""The README's quick start: install into ./.venv, then run or test.

    python3 tools/quickstart.py run    # the API, all in one process
    python3 tools/quickstart.py test   # the whole test suite

Needs only Python 3 (with its venv module) and this git checkout.  Extra
arguments go to detach-ext-api or to ``stestr run``.  The test command
ends with the line ``N passed, N failed, N skipped``.
"""

import os
import re
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, '.venv')
BIN = os.path.join(VENV, 'bin')


def _install(*requirements):
    if not os.path.exists(os.path.join(BIN, 'python')):
        print('Creating %s ...' % VENV, flush=True)
        venv.create(VENV, with_pip=True)
    print('Installing detach_ext and its requirements into .venv ...',
          flush=True)
    args = [os.path.join(BIN, 'python'), '-m', 'pip', 'install', '-q',
            '--disable-pip-version-check', '-e', ROOT]
    for requirement in requirements:
        args += ['-r', os.path.join(ROOT, requirement)]
    subprocess.run(args, check=True, cwd=ROOT)


def run(args):
    _install()
    os.execv(os.path.join(BIN, 'detach-ext-api'),
             ['detach-ext-api', '--all-in-one'] + args)


def test(args):
    _install('test-requirements.txt')
    env = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning')
    proc = subprocess.Popen(
        [os.path.join(BIN, 'stestr'), 'run'] + args, cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    totals = {}
    for line in proc.stdout:
        sys.stdout.write(line)
        match = re.match(r'^ - (Passed|Failed|Skipped): (\d+)', line)
        if match:
            totals[match.group(1)] = int(match.group(2))
    rc = proc.wait()
    sys.stdout.flush()
    if totals.get('Skipped') and not os.environ.get('DETACH_EXT_TEST_DB_URL'):
        print('Skipped: the tests that need a database server and RabbitMQ '
              '(real processes, broker and database outages).  Set '
              'DETACH_EXT_TEST_DB_URL and DETACH_EXT_TEST_TRANSPORT_URL to '
              'run them, as .ci/run does.')
    print('%d passed, %d failed, %d skipped'
          % (totals.get('Passed', 0), totals.get('Failed', 0),
             totals.get('Skipped', 0)), flush=True)
    return rc if totals else (rc or 1)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ('run', 'test'):
        print(__doc__)
        return 2
    command, args = sys.argv[1], sys.argv[2:]
    return run(args) if command == 'run' else test(args)


if __name__ == '__main__':
    sys.exit(main())
