"""Policy rules registered in code; operators override them in a file."""

import itertools

from detach_ext.policies import base
from detach_ext.policies import volumes_attachments


def list_rules():
    return itertools.chain(
        base.list_rules(),
        volumes_attachments.list_rules(),
    )
