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

# The contract: "vm_state isn't ACTIVE, PAUSED, STOPPED, RESIZED,
# SOFT_DELETED" answers 409.
DETACH_VOLUME_VM_STATES = (ACTIVE, PAUSED, STOPPED, RESIZED, SOFT_DELETED)
# A server busy with another task (task_state set) is not detached from.
DETACH_VOLUME_TASK_STATES = (None,)
