"""contracts' use cases: each ``async def use_case(cmd, uow: Contracts)``, a typed command and
the unit of dependencies; domain errors raised, aggregates returned (views.py shapes answers).

- ``customer_numbers``: the CRM's numbers and contracts, support's new password, holder
  accounts (seed 004);
- ``links``: linking with the one-time password, unlinking;
- ``permissions``: contract spaces, identity's users, transfers (CON-5), sub-administrators
  (CON-6);
- ``contacts``: authorised contacts (CON-7).
"""

from services.contracts.handlers.unit import Contracts, LinkAttempts, PasswordPolicy

__all__ = ["Contracts", "LinkAttempts", "PasswordPolicy"]
