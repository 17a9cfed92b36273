"""Server states (Nova's values) and the ones a detach is allowed in."""

ACTIVE = 'active'
BUILDING = 'building'
PAUSED = 'paused'
SUSPENDED = 'suspended'
STOPPED = 'stopped'
RESCUED = 'rescued'
RESIZED = 'resized'
SOFT_DELETED = 'soft-delete'
DELETED = 'deleted'
ERROR = 'error'
SHELVED = 'shelved'
SHELVED_OFFLOADED = 'shelved_offloaded'

SHELVED_STATES = (SHELVED, SHELVED_OFFLOADED)

# The contract: "vm_state isn't ACTIVE, PAUSED, STOPPED, RESIZED,
# SOFT_DELETED" answers 409.  From microversion 2.20 shelved servers may
# detach too (the API refuses them at lower versions, as Nova's does).
DETACH_VOLUME_VM_STATES = (ACTIVE, PAUSED, STOPPED, RESIZED, SOFT_DELETED,
                           SHELVED, SHELVED_OFFLOADED)
# A server busy with another task (task_state set) is not detached from.
DETACH_VOLUME_TASK_STATES = (None,)
