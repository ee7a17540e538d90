"""contracts: customer numbers from the CRM, links, permissions, authorised contacts
(CON-1…CON-7)."""
