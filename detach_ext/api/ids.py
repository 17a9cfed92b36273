"""The form of ids in URLs."""

# A keystone project id: 32 hex digits, or a UUID with dashes.
PROJECT_ID = (r'([0-9a-fA-F]{32}|'
              r'[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})')
