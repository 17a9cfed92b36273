"""Sphinx configuration of detach_ext's release notes (reno)."""

project = 'detach_ext release notes'
copyright = 'detach_ext developers'

extensions = ['reno.sphinxext']

master_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
html_static_path = ['_static']
html_title = 'detach_ext release notes'
