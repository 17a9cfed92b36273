"""detach_ext's modules import at the top and form no import loop."""

import ast
import os

import testtools

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'detach_ext')


def _modules():
    for folder, _dirs, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, os.path.dirname(PACKAGE))
                module = parts[:-3].replace(os.sep, '.')
                if module.endswith('.__init__'):
                    module = module[:-len('.__init__')]
                yield module, path


def _imports(path):
    """The detach_ext modules ``path`` imports, at the top or inside a
    function alike."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update('%s.%s' % (node.module, a.name) for a in node.names)
            found.add(node.module)
    return found


class TestImports(testtools.TestCase):

    def test_no_import_loop(self):
        modules = dict(_modules())
        graph = {m: {i for i in _imports(p) if i in modules and i != m}
                 for m, p in modules.items()}
        # A package imports its own modules; only loops between modules
        # count.
        for module, deps in graph.items():
            graph[module] = {d for d in deps
                             if not module.startswith(d + '.')}

        def loop_from(start):
            stack = [(start, [start])]
            seen = set()
            while stack:
                module, path = stack.pop()
                for dep in graph[module]:
                    if dep == start:
                        return path + [start]
                    if dep not in seen:
                        seen.add(dep)
                        stack.append((dep, path + [dep]))
            return None

        loops = [loop_from(m) for m in sorted(graph)]
        self.assertEqual([], [' -> '.join(lp) for lp in loops if lp])
