"""Pieces of tools/bench_detach.py: Nova's schema, a bulk seeder, the
comparison WSGI apps."""
