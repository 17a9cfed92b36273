"""Sphinx configuration of detach_ext's documentation (doc/source)."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join('..', '..')))

project = 'detach_ext'
copyright = 'detach_ext developers'

extensions = [
    'sphinx.ext.graphviz',
    # The configuration reference from the options in code, and a sample
    # file written at build time (never committed).
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    # The policy reference from the rules in code, and a sample file.
    'oslo_policy.sphinxext',
    'oslo_policy.sphinxpolicygen',
]

config_generator_config_file = [
    ('../../etc/detach_ext/config-generator.conf',
     '_static/detach_ext'),
]
policy_generator_config_file = [
    ('../../etc/detach_ext/policy-generator.conf',
     '_static/detach_ext'),
]

# The diagrams are drawn by Graphviz (``dot``) as SVG, so they stay sharp
# and their text can be searched and copied.
graphviz_output_format = 'svg'

templates_path = []
exclude_patterns = ['_build']
master_doc = 'index'
pygments_style = 'sphinx'
# Literal blocks are shell lines, ini files, logs, JSON: none is Python.
highlight_language = 'none'
html_theme = 'alabaster'
html_theme_options = {
    'description': 'Detach a volume from a server, as Nova does',
    'fixed_sidebar': True,
    'page_width': '1100px',
    'sidebar_width': '240px',
}
html_static_path = ['_static']
html_title = 'detach_ext'
