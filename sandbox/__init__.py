"""Stand-ins for the outside world (providers' APIs, a custom channel's integration), written
from their public documentation. Nothing here imports the product, and the product never
imports this package."""
