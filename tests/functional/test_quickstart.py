"""The quick start: ``detach-ext-api --all-in-one`` prints curl lines that
work as printed (run here with urllib, in the order a user would)."""

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request

import fixtures
import testtools

BIN = os.path.dirname(sys.executable)


def _curl(line):
    """Do what a printed ``curl`` line does; return (status, body)."""
    args = shlex.split(line)
    method, headers, url = 'GET', {}, None
    i = 1
    while i < len(args):
        if args[i] == '-X':
            method, i = args[i + 1], i + 1
        elif args[i] == '-H':
            name, _sep, value = args[i + 1].partition(': ')
            headers[name], i = value, i + 1
        elif not args[i].startswith('-'):
            url = args[i]
        i += 1
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class TestQuickStart(testtools.TestCase):

    def test_printed_curl_lines_work(self):
        state = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(state, 'out.log'), 'wb') as log:
            proc = subprocess.Popen(
                [os.path.join(BIN, 'detach-ext-api'), '--all-in-one',
                 '--port', '0', '--state-dir', state],
                stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        lines = []
        for _ in range(300):
            with open(os.path.join(state, 'out.log')) as f:
                text = f.read()
            lines = [line.strip() for line in text.splitlines()
                     if line.strip().startswith('curl ')]
            if len(lines) >= 5:
                break
            self.assertIsNone(proc.poll(), text)
            time.sleep(0.1)
        self.assertEqual(5, len(lines), text)
        detach, show, index, root, broken = lines
        self.assertEqual(202, _curl(detach)[0])
        for _ in range(100):
            status, body = _curl(show)
            if status == 404:
                break
            time.sleep(0.1)
        self.assertEqual(404, status, body)
        status, body = _curl(index)
        self.assertEqual(200, status)
        self.assertEqual(1, len(json.loads(body)['volumeAttachments']))
        self.assertEqual(404, _curl(detach)[0])
        self.assertEqual(403, _curl(root)[0])
        status, body = _curl(broken)
        self.assertEqual(409, status)
        self.assertTrue(re.search(b'vm_state error', body))
