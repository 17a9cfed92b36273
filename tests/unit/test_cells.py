"""Cell mapping URL templates, formatted as Nova formats them."""

import testtools

from detach_ext import cells
from detach_ext import exception


class TestFormatURL(testtools.TestCase):

    def test_plain_url_unchanged(self):
        self.assertEqual('mysql+pymysql://u:p@db/nova_cell1',
                         cells.format_url('mysql+pymysql://u:p@db/nova_cell1',
                                          None))

    def test_database_template(self):
        self.assertEqual(
            'mysql+pymysql://nova:secret@db1:3306/nova_cell2?charset=utf8',
            cells.format_url(
                '{scheme}://{username}:{password}@{hostname}:{port}/'
                'nova_cell2?{query}',
                'mysql+pymysql://nova:secret@db1:3306/nova_api?charset=utf8'))

    def test_transport_template_of_several_hosts(self):
        self.assertEqual(
            'rabbit://a:pa@h1:5672,b:pb@h2:5673/cell2',
            cells.format_url(
                '{scheme}://{username1}:{password1}@{hostname1}:{port1},'
                '{username2}:{password2}@{hostname2}:{port2}/cell2',
                'rabbit://a:pa@h1:5672,b:pb@h2:5673/'))

    def test_template_without_default_is_refused(self):
        self.assertRaises(exception.DetachExtException, cells.format_url,
                          '{scheme}://db/nova', None)
