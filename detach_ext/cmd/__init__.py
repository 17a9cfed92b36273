"""Console scripts."""

import warnings

# oslo.messaging imports oslo.service and futurist, which import eventlet
# (when installed) and warn that it is deprecated; detach_ext uses threads
# only, so the warning says nothing to its users.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
warnings.filterwarnings('ignore', category=DeprecationWarning,
                        module='eventlet.*')
