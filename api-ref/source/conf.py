"""Sphinx configuration of detach_ext's API reference (api-ref/source)."""

project = 'detach_ext API reference'
copyright = 'detach_ext developers'

extensions = ['os_api_ref']

master_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
html_theme_options = {
    'description': 'The compute API routes detach_ext serves',
    'page_width': '1100px',
}
html_title = 'detach_ext API reference'
