from services.billing.app import definition
from services.billing.settings import BillingSettings
from shared.service import main

main(definition, BillingSettings)
