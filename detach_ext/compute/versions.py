"""Compute RPC version caps: Nova's release aliases and service versions.

The two tables are data from Nova 34.0.0 (2026.2 Hibiscus):
``nova/compute/rpcapi.py`` ``ComputeAPI.VERSION_ALIASES`` and the
``compute_rpc`` column of ``nova/objects/service.py``
``SERVICE_VERSION_HISTORY``.  Update them together when a newer Nova adds
an entry.
"""

import re

AUTO = 'auto'

# Release name -> compute RPC version cap (Nova 34.0.0 VERSION_ALIASES).
VERSION_ALIASES = {
    'icehouse': '3.23',
    'juno': '3.35',
    'kilo': '4.0',
    'liberty': '4.5',
    'mitaka': '4.11',
    'newton': '4.13',
    'ocata': '4.13',
    'pike': '4.17',
    'queens': '5.0',
    'rocky': '5.0',
    'stein': '5.1',
    'train': '5.3',
    'ussuri': '5.11',
    'victoria': '5.12',
    'wallaby': '6.0',
    'xena': '6.0',
    'yoga': '6.0',
    'zed': '6.1',
    'antelope': '6.2',
    'bobcat': '6.2',
    'caracal': '6.3',
    'dalmatian': '6.3',
    'epoxy': '6.4',
    'flamingo': '6.4',
    'gazpacho': '6.5',
    'hibiscus': '6.5',
}

# Nova service version (the index) -> the compute RPC version a
# nova-compute of that service version speaks (Nova 34.0.0
# SERVICE_VERSION_HISTORY, its 'compute_rpc' column).
SERVICE_VERSION_COMPUTE_RPC = (
    '4.0', '4.4', '4.5', '4.6', '4.6', '4.7', '4.8', '4.9', '4.10',  # 0-8
    '4.11', '4.11', '4.12', '4.12', '4.13', '4.13', '4.13', '4.13',  # 9-16
    '4.13', '4.14', '4.15', '4.16', '4.17', '4.17', '4.18', '4.18',  # 17-24
    '4.18', '4.19', '4.20', '4.21', '4.22', '5.0', '5.0', '5.0',  # 25-32
    '5.0', '5.0', '5.0', '5.0', '5.1', '5.1', '5.2', '5.3',  # 33-40
    '5.4', '5.5', '5.6', '5.7', '5.8', '5.9', '5.10', '5.10',  # 41-48
    '5.10', '5.11', '5.11', '5.11', '5.12', '5.13', '5.13', '6.0',  # 49-56
    '6.0', '6.0', '6.0', '6.0', '6.0', '6.0', '6.0', '6.1',  # 57-64
    '6.1', '6.2', '6.3', '6.4', '6.4', '6.4', '6.5', '6.5',  # 65-72
    '6.5', '6.5',  # 73-74
)

# The newest service version in the table (Nova 34's SERVICE_VERSION).
SERVICE_VERSION = len(SERVICE_VERSION_COMPUTE_RPC) - 1

_NUMBER = re.compile(r'^\d+\.\d+(\.\d+)?$')


def check_level(value):
    """Return ``value`` if it is a valid ``[upgrade_levels] compute``.

    :raises ValueError: naming what is accepted, for anything else.
    """
    # Empty (``compute =``) is unset, as oslo.config's samples suggest.
    if not value or value == AUTO or value in VERSION_ALIASES:
        return value
    if _NUMBER.match(value):
        return value
    raise ValueError(
        '%r is not a compute RPC version: use a version number such as '
        '6.0, "auto", or one of the release names %s' % (
            value, ', '.join(VERSION_ALIASES)))


def cap_for_level(value):
    """The version cap of a number or a release name (not ``auto``)."""
    check_level(value)
    return VERSION_ALIASES.get(value, value)


def cap_for_service_version(service_version):
    """The compute RPC version cap for a minimum nova-compute service
    version.

    0 (no nova-compute registered) gives the newest version, as in Nova.
    A service version newer than the table also gives the newest version
    detach_ext knows, where Nova's API raises ServiceTooOld: a nova-api
    must not run code older than its computes, since it sends many
    methods whose older versions newer computes may have dropped.
    detach_ext is not a Nova service and sends one method whose 6.0 form
    every compute RPC 6.x accepts, so newer computes are no reason to
    refuse it.
    """
    if service_version <= 0 or service_version > SERVICE_VERSION:
        return SERVICE_VERSION_COMPUTE_RPC[SERVICE_VERSION]
    return SERVICE_VERSION_COMPUTE_RPC[service_version]
