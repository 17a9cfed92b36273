"""The compute side: state rules, the detach operation, RPC, the worker."""
