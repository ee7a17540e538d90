"""Every route of contracts, in the order the API document lists them."""

from services.contracts.http import contacts, contracts, permissions, support
from shared.http import Routes

routes = Routes()
routes.entries = [*contracts.routes.entries, *permissions.routes.entries,
                  *support.routes.entries, *contacts.routes.entries]
