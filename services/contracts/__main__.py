from services.contracts.app import definition
from services.contracts.settings import ContractsSettings
from shared.service import main

main(definition, ContractsSettings)
